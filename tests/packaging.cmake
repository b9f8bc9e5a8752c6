# Included by the top-level CMakeLists.txt after every program is defined.
# Packaging: the shared library exports exactly the public headers'
# functions and has its SONAME; every program answers --version, -h and a
# bad option alike; every CTest entry has a label.
add_test(NAME test_exports COMMAND ${PROJECT_SOURCE_DIR}/tests/check_exports.sh
  $<TARGET_FILE:tcpshm_shared> $<TARGET_SONAME_FILE_NAME:tcpshm_shared> ${PROJECT_SOURCE_DIR}/core/include/tcpshm)
set(TCPSHM_CLI_PROGRAMS tcpshm-inspect tcpshm-bench tcpshm-sim tcpshm-echo-server tcpshm-echo-client queue_crash_demo
  kill_loop shm_stress conn_stress gen_corpus hello order_entry)
foreach(t ${TCPSHM_FUZZ_TARGETS})
  list(APPEND TCPSHM_CLI_PROGRAMS fuzz_${t}_replay)
endforeach()
set(cli_files)
foreach(p ${TCPSHM_CLI_PROGRAMS})
  if(TARGET ${p})
    list(APPEND cli_files $<TARGET_FILE:${p}>)
  endif()
endforeach()
add_test(NAME test_cli COMMAND ${PROJECT_SOURCE_DIR}/tests/cli_test.sh ${PROJECT_VERSION} ${cli_files})
add_test(NAME test_labels COMMAND ${PROJECT_SOURCE_DIR}/tests/check_labels.sh ${CMAKE_BINARY_DIR})
set_tests_properties(test_exports test_cli test_labels PROPERTIES TIMEOUT 120 LABELS unit)
