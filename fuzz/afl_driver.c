/* The AFL++ driver: persistent mode with shared-memory test cases. afl-fuzz
 * hands each input through shared memory and the process runs up to 100000
 * inputs before it is restarted. Outside afl-fuzz (afl-tmin, a reproduction
 * by hand) the binary runs one input read from stdin:
 *   build/fuzz-afl/fuzz/fuzz_frame_afl < crash-file
 * Compiled only with afl-clang-fast, which defines the __AFL_* macros. */
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include "fuzz_common.h"

__AFL_FUZZ_INIT();

int main(void)
{
    __AFL_INIT();
    unsigned char *buf = __AFL_FUZZ_TESTCASE_BUF;
    while (__AFL_LOOP(100000)) {
        int len = __AFL_FUZZ_TESTCASE_LEN;
        LLVMFuzzerTestOneInput(buf, len > 0 ? (size_t)len : 0);
    }
    return 0;
}
