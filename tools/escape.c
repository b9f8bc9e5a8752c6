#include <stdbool.h>
#include <string.h>

#include "escape.h"

/* The bytes c stands for in the output (at most 6 and a NUL); returns their count. */
static size_t encode(unsigned char c, cli_esc_form form, char piece[7])
{
    static const char hex[] = "0123456789abcdef";
    bool plain = c >= 0x20 && c < 0x7f && c != '\\' && !(form == CLI_ESC_JSON && c == '"');
    if (plain) {
        piece[0] = (char)c;
        return 1;
    }
    size_t n = 0;
    piece[n++] = '\\';
    if (form == CLI_ESC_JSON) {
        memcpy(piece + n, "u00", 3);
        n += 3;
    } else {
        piece[n++] = 'x';
    }
    piece[n++] = hex[c >> 4];
    piece[n++] = hex[c & 15];
    return n;
}

const char *cli_escape(char *out, size_t cap, const char *s, cli_esc_form form)
{
    if (cap == 0)
        return out;
    if (!s)
        s = "(null)";
    /* Does the whole escaped form fit? */
    size_t need = 0;
    char piece[7];
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        need += encode(*p, form, piece);
    bool cut = need >= cap;
    /* Cut: whole pieces while "..." still fits after them. */
    size_t room = cut ? (cap - 1 > 3 ? cap - 1 - 3 : 0) : cap - 1;
    size_t len = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        size_t n = encode(*p, form, piece);
        if (len + n > room)
            break;
        memcpy(out + len, piece, n);
        len += n;
    }
    if (cut)
        for (int i = 0; i < 3 && len < cap - 1; i++)
            out[len++] = '.';
    out[len] = '\0';
    return out;
}
