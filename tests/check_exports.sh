#!/usr/bin/env bash
# tests/check_exports.sh LIB SONAME HEADER_DIR (CTest test_exports): the
# shared library LIB has the SONAME SONAME (libtcpshm.so.N) and exports
# exactly the functions the public headers of HEADER_DIR declare (read off the
# headers here, no hand list): none missing, no internal symbol leaking.
# crash_hook.h and sim.h are left out: they belong to the fault library and
# the simulator library (libtcpshm_sim.a), not this one.
set -euo pipefail
lib=${1:?usage: check_exports.sh LIB SONAME HEADER_DIR}
want_soname=${2:?}
hdr=${3:?}
fail() { echo "test_exports: $*" >&2; exit 1; }

soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "$want_soname" ] || fail "SONAME is '$soname', expected '$want_soname'"
[[ "$soname" =~ ^libtcpshm\.so\.[0-9]+(\.[0-9]+)?$ ]] || fail "SONAME '$soname' is not versioned"

# Declarations start in column 0 with a return type; static inline helpers,
# typedefs, macros and comments are not exported functions.
declared=$(for h in "$hdr"/*.h; do
  case "$(basename "$h")" in crash_hook.h | sim.h) continue ;; esac
  grep -hoP '^(?!static|typedef|#|/?\*| )[^(;]*?\b\Ktcpshm_\w+(?=\()' "$h" || true
done | sort -u)
[ "$(echo "$declared" | wc -l)" -ge 30 ] || fail "found only $(echo "$declared" | wc -l) declarations in $hdr: is the parsing broken?"
# Defined dynamic symbols, any kind (text, data, weak), as the dynamic linker sees them.
exported=$(nm -D --defined-only "$lib" | awk '{print $NF}' | sed 's/@.*//' | sort -u)

missing=$(comm -23 <(echo "$declared") <(echo "$exported"))
extra=$(comm -13 <(echo "$declared") <(echo "$exported"))
[ -z "$missing" ] || fail "declared in the public headers but not exported: $(echo $missing)"
[ -z "$extra" ] || fail "exported but not in the public headers ($(echo "$extra" | wc -l)): $(echo $extra)"
echo "test_exports: $soname exports exactly the $(echo "$declared" | wc -l) public functions"
