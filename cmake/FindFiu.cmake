# FindFiu: libfiu (failure-point injection) as the imported target Fiu::fiu.
# Used by the build and installed beside tcpshmConfig.cmake, where
# find_dependency(Fiu) finds the consumer's own libfiu (no path of the
# machine that built tcpshm is written into the export).
# Sets Fiu_FOUND, FIU_LIBRARY, FIU_INCLUDE_DIR.
find_library(FIU_LIBRARY fiu)
find_path(FIU_INCLUDE_DIR fiu.h)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(Fiu REQUIRED_VARS FIU_LIBRARY FIU_INCLUDE_DIR)
if(Fiu_FOUND AND NOT TARGET Fiu::fiu)
  add_library(Fiu::fiu UNKNOWN IMPORTED)
  set_target_properties(Fiu::fiu PROPERTIES
    IMPORTED_LOCATION "${FIU_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${FIU_INCLUDE_DIR}")
endif()
