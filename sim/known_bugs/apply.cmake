# cmake -DCORE=<core dir> -DDST=<dir> -DPATCH=<file> -P apply.cmake
# Copies core/src to DST/core/src and applies one known-bug patch to the
# copy. Fails (and so fails the build) when the patch no longer applies: the
# core moved under it and the patch must be refreshed (see README.md).
foreach(v CORE DST PATCH)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "apply.cmake needs -D${v}=...")
  endif()
endforeach()
file(REMOVE_RECURSE "${DST}/core")
file(MAKE_DIRECTORY "${DST}/core")
file(COPY "${CORE}/src" DESTINATION "${DST}/core")
# file(COPY) keeps the sources' times, older than the patch: without this the
# build would think the copy out of date and redo it every time.
file(GLOB copied "${DST}/core/src/*")
file(TOUCH_NOCREATE ${copied})
execute_process(
  COMMAND patch -p1 --batch --forward --fuzz=0 --no-backup-if-mismatch -d "${DST}" -i "${PATCH}"
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "known-bug patch ${PATCH} does not apply to core/src:\n${out}${err}")
endif()
