/*
 * journal/journal_int.h — the journal's private interface: the on-disk layout (documented byte by
 * byte at the top of journal.c and in docs/format/journal.md) and the helpers that the writer
 * (journal.c), the reader (reader.c) and the offline checker (verify.c) share. Nothing outside
 * src/journal/ includes this file.
 */
#ifndef JOURNAL_JOURNAL_INT_H
#define JOURNAL_JOURNAL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define JNL_MAGIC "VOLTAJNL"       /* 8 bytes, no NUL on disk */
#define JNL_VERSION 1u
#define JNL_SEG_HDR_SIZE 40u       /* segment header */
#define JNL_SEG_HDR_CRC_OFF 32u    /* the header CRC covers bytes [0, 32) */
#define JNL_REC_HDR_SIZE 28u       /* record header */
#define JNL_REC_CRC_OFF 24u        /* the record CRC sits after bytes [0, 24) of the header */
#define JNL_HARD_MAX_RECORD (1u << 30) /* no record payload is ever longer (1 GiB) */
#define JNL_SEQ_WINDOW (1u << 20)  /* how far past the expected seq a resync candidate may be */
#define JNL_NAME_DIGITS 20
#define JNL_SUFFIX ".vjl"

typedef struct jnl_seg_header {
    uint32_t version;
    uint64_t first_seq;
    int64_t created;
} jnl_seg_header;

/* One record as found in a byte image; data points into that image. */
typedef struct jnl_rec_view {
    uint32_t len;
    uint16_t type;
    uint64_t seq;
    int64_t time;
    const uint8_t *data;
} jnl_rec_view;

typedef enum jnl_rec_status {
    JNL_REC_OK = 0,
    JNL_REC_SHORT,  /* fewer bytes than the header, or than header + declared length */
    JNL_REC_BADLEN, /* declared length above the hard limit */
    JNL_REC_BADCRC, /* complete, but the CRC does not match */
} jnl_rec_status;

/* Encodes a segment header into out[JNL_SEG_HDR_SIZE]. */
void jnl_seg_header_encode(uint8_t *out, uint64_t first_seq, int64_t created);
/* Decodes and checks (magic, version, CRC) a segment header; on failure fills why. */
bool jnl_seg_header_decode(const uint8_t *p, jnl_seg_header *h, char *why, size_t whylen);

/* Fills the 28-byte record header for a payload whose CRC32C (alone) is payload_crc. */
void jnl_rec_header_encode(uint8_t *out, uint32_t len, uint16_t type, uint64_t seq, int64_t time,
                           uint32_t payload_crc);
/* Parses the record starting at p, with avail bytes available. */
jnl_rec_status jnl_rec_parse(const uint8_t *p, size_t avail, jnl_rec_view *out);
const char *jnl_rec_status_name(jnl_rec_status st);

/* Scans image[from, size) for the first offset holding a complete, CRC-valid record whose seq is
 * in [min_seq, min_seq + JNL_SEQ_WINDOW). Returns that offset, or SIZE_MAX when none. */
size_t jnl_find_next_valid(const uint8_t *image, size_t size, size_t from, uint64_t min_seq,
                           uint64_t *seq_out);

/* Lists the segment files of dir (names of 20 digits + ".vjl"), sorted by first seq.
 * *out is malloc'd (NULL when n == 0); the caller frees it. VT_ENOTFOUND when dir is absent. */
vt_rc jnl_list_segments(const char *dir, uint64_t **out, size_t *n, vt_err *err);
/* "<dir>/<first_seq, 20 digits>.vjl" into buf; false when it does not fit. */
bool jnl_seg_path(char *buf, size_t cap, const char *dir, uint64_t first_seq);

/* A read-only image of a whole file (mmap; NULL data when the file is empty). */
typedef struct jnl_image {
    const uint8_t *data;
    size_t size;
} jnl_image;
vt_rc jnl_image_map(int fd, const char *path, jnl_image *img, vt_err *err);
void jnl_image_unmap(jnl_image *img);

#endif
