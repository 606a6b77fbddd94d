/*
 * common/utf8.h — strict UTF-8 validation (the line-protocol corpus' rule: no overlong forms,
 * no surrogates, nothing above U+10FFFF), shared by every reader of text input.
 */
#ifndef COMMON_UTF8_H
#define COMMON_UTF8_H

#include <stdbool.h>
#include <stddef.h>

bool vt_utf8_valid(const unsigned char *s, size_t n);

#endif
