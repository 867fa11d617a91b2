# Fuzz targets (tests/fuzz/). Two build modes:
#  - ITMO_FUZZ=ON (clang only): every project target is compiled with libFuzzer coverage
#    instrumentation plus ASan and UBSan, and each fuzz target links -fsanitize=fuzzer: a real
#    libFuzzer binary in bin/fuzz_<name>.
#  - ITMO_FUZZ=OFF (the GCC CI build): each target is linked with tests/fuzz/standalone_main.cc,
#    a driver that runs every seed of tests/fuzz/corpus/<name>/ plus a fixed number of
#    deterministic pseudo-random mutations.
# Both modes register the ctest `fuzz_<name>_smoke` (label fuzz).
if(ITMO_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "ITMO_FUZZ=ON needs clang (-DCMAKE_CXX_COMPILER=clang++)")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link -fno-omit-frame-pointer -gline-tables-only)
  if(ITMO_SANITIZE STREQUAL "none")
    add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined)
    add_link_options(-fsanitize=address,undefined)
  endif()
  add_compile_definitions(ITMO_FUZZING_BUILD=1)
endif()

# itmo_add_fuzzer(fuzz_x SRCS fuzz_x.cc ... DEPS itmo::y ... [SMOKE_RUNS n]): a fuzz target whose
# seed corpus is tests/fuzz/corpus/<fuzz_x without the "fuzz_" prefix>/.
function(itmo_add_fuzzer name)
  cmake_parse_arguments(ARG "" "SMOKE_RUNS;CORPUS" "SRCS;DEPS" ${ARGN})
  if(NOT ARG_SMOKE_RUNS)
    set(ARG_SMOKE_RUNS 2000)
  endif()
  if(NOT ARG_CORPUS)
    string(REGEX REPLACE "^fuzz_" "" ARG_CORPUS ${name})
  endif()
  set(corpus ${CMAKE_CURRENT_SOURCE_DIR}/corpus/${ARG_CORPUS})
  if(ITMO_FUZZ)
    add_executable(${name} ${ARG_SRCS})
    target_link_libraries(${name} PRIVATE ${ARG_DEPS} itmo::warnings)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer)
    # libFuzzer writes new inputs into its first directory: a scratch one, never the source tree.
    set(scratch ${CMAKE_CURRENT_BINARY_DIR}/corpus_out/${ARG_CORPUS})
    file(MAKE_DIRECTORY ${scratch})
    add_test(NAME ${name}_smoke
             COMMAND ${name} -seed=1 -runs=${ARG_SMOKE_RUNS} -max_total_time=25 ${scratch}
                     ${corpus})
  else()
    add_executable(${name} ${ARG_SRCS} ${CMAKE_SOURCE_DIR}/tests/fuzz/standalone_main.cc)
    target_link_libraries(${name} PRIVATE ${ARG_DEPS} itmo::warnings)
    add_test(NAME ${name}_smoke
             COMMAND ${name} --runs=${ARG_SMOKE_RUNS} --seed=1 --max_seconds=25 ${corpus})
  endif()
  set_tests_properties(${name}_smoke PROPERTIES LABELS fuzz TIMEOUT 60
                       WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
endfunction()
