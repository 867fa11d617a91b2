# itmo_add_test(name LABEL unit SRCS a_test.cc ... DEPS itmo::x ...): one gtest binary, discovered by ctest.
function(itmo_add_test name)
  cmake_parse_arguments(ARG "" "LABEL;TIMEOUT" "SRCS;DEPS" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 600)
  endif()
  add_executable(${name} ${ARG_SRCS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} itmo::testing GTest::gmock GTest::gtest_main
                                        itmo::warnings)
  if(TARGET itmo_tsan_absl_sync)
    target_link_libraries(${name} PRIVATE itmo_tsan_absl_sync ${CMAKE_DL_LIBS})
  endif()
  gtest_discover_tests(${name} PROPERTIES LABELS ${ARG_LABEL} TIMEOUT ${ARG_TIMEOUT}
                       DISCOVERY_MODE PRE_TEST DISCOVERY_TIMEOUT 60)
endfunction()

# itmo_add_benchmark(bench_x SRCS ...  DEPS ...): a Google Benchmark binary plus a one-shot smoke test.
function(itmo_add_benchmark name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS" ${ARGN})
  find_package(benchmark REQUIRED)
  add_executable(${name} ${ARG_SRCS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} benchmark::benchmark itmo::warnings)
  add_test(NAME ${name}_smoke COMMAND ${name} --benchmark_min_time=0.001)
  set_tests_properties(${name}_smoke PROPERTIES LABELS bench TIMEOUT 600 ENVIRONMENT ITMO_BENCH_SMOKE=1)
endfunction()
