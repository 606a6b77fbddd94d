#include "common/point.h"

const char *vt_type_name(vt_type t)
{
    switch (t) {
    case VT_TYPE_FLOAT: return "float";
    case VT_TYPE_INT: return "integer";
    case VT_TYPE_UINT: return "unsigned";
    case VT_TYPE_BOOL: return "boolean";
    case VT_TYPE_STRING: return "string";
    default: return "none";
    }
}
