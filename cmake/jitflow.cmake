# Shared build rules for every jitflow library, tool and test.

set(JITFLOW_WARNINGS -Wall -Wextra -Wshadow -Wno-unused-parameter -Wnon-virtual-dtor -Wimplicit-fallthrough)

if(JITFLOW_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

# Fuzz builds (clang): every library gets libFuzzer coverage instrumentation and ASan/UBSan; each
# fuzz target adds -fsanitize=fuzzer at link time for libFuzzer's main.
if(JITFLOW_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

# The SIMD family this build compiles kernels for: x86 (AVX2, AVX-512), neon (AArch64), wasm
# (SIMD128) or none (portable C++ only). base/ defines JITFLOW_SIMD_X86, JITFLOW_SIMD_NEON or
# JITFLOW_SIMD_WASM for all code to see.
if(EMSCRIPTEN)
  set(JITFLOW_SIMD wasm)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  set(JITFLOW_SIMD x86)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
  set(JITFLOW_SIMD neon)
else()
  set(JITFLOW_SIMD none)
endif()

# WebAssembly (cmake/wasm.cmake): SIMD128 everywhere (every engine that runs jitflow has it),
# pthreads for the thread pool, memory that grows to wasm32's 4 GiB, and a function table that
# grows, for kernels emitted at run time.
if(EMSCRIPTEN)
  add_compile_options(-msimd128 -pthread)
  add_link_options(-pthread -sALLOW_MEMORY_GROWTH=1 -sMAXIMUM_MEMORY=4GB -sALLOW_TABLE_GROWTH=1
                   -Wno-pthreads-mem-growth)
endif()

# jitflow_node_program(TARGET): a WebAssembly program that Node runs like a native one (tests,
# benchmarks): main() on a pthread of a worker pool, the process exits when main returns, files
# are the host's (NODERAWFS). No effect in native builds. The browser build (web/) links otherwise.
function(jitflow_node_program target)
  if(EMSCRIPTEN)
    target_link_options(${target} PRIVATE -sPROXY_TO_PTHREAD=1 -sPTHREAD_POOL_SIZE=4 -sEXIT_RUNTIME=1
                        -sNODERAWFS=1 --pre-js ${CMAKE_SOURCE_DIR}/web/emscripten/node_wasm_binary.js)
  endif()
endfunction()

# jitflow_library(NAME SOURCES ... DEPS ...): one folder of src/ = one static library.
# Libraries build without exceptions so that the same code runs in WebAssembly.
function(jitflow_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${CMAKE_SOURCE_DIR}/include ${CMAKE_SOURCE_DIR}/src)
  target_compile_options(${name} PRIVATE ${JITFLOW_WARNINGS} -fno-exceptions)
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
endfunction()

# jitflow_test(NAME SOURCES ... DEPS ... [LABELS ...]): a GoogleTest executable registered with ctest.
function(jitflow_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS;FIXTURES" ${ARGN})
  if(NOT JITFLOW_BUILD_TESTS)
    return()
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE ${JITFLOW_WARNINGS})
  target_compile_definitions(${name} PRIVATE
    JITFLOW_SHARED_DIR="${JITFLOW_SHARED_DIR}" JITFLOW_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/tests)
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} jf_test_main)
  jitflow_node_program(${name})
  if(EMSCRIPTEN)
    # Compiled at -O3 all the same; -O1 at link time skips binaryen's whole-program passes, 10 s
    # per test program (the suite's Wasm build takes minutes less).
    target_link_options(${name} PRIVATE -O1)
  endif()
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  # Timing-sensitive device measurements run alone, not beside the rest of the parallel suite.
  set(serial FALSE)
  if("device" IN_LIST ARG_LABELS)
    set(serial TRUE)
  endif()
  # FIXTURES: ctest fixtures (FIXTURES_SETUP tests) every case needs, e.g. models written once.
  gtest_discover_tests(${name} PROPERTIES LABELS "${ARG_LABELS}" RUN_SERIAL ${serial} FIXTURES_REQUIRED "${ARG_FIXTURES}"
                       DISCOVERY_TIMEOUT 60)
endfunction()

# jitflow_cli_test(NAME [EXIT_CODE n] [EXPECT ERE...] [REJECT ERE...] COMMAND cmd args...): one
# command line as a ctest case, run by tests/cli_test.sh in a fresh temporary folder ("@TMP@" in an
# argument), passing only with exit code n (default 0), a line matching each EXPECT and none
# matching a REJECT.
function(jitflow_cli_test name)
  cmake_parse_arguments(ARG "" "EXIT_CODE" "EXPECT;REJECT;COMMAND;LABELS" ${ARGN})
  if(NOT JITFLOW_BUILD_TESTS)
    return()
  endif()
  if(NOT DEFINED ARG_EXIT_CODE)
    set(ARG_EXIT_CODE 0)
  endif()
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  set(checks "")
  foreach(re IN LISTS ARG_EXPECT)
    list(APPEND checks --expect "${re}")
  endforeach()
  foreach(re IN LISTS ARG_REJECT)
    list(APPEND checks --reject "${re}")
  endforeach()
  add_test(NAME ${name} COMMAND ${CMAKE_SOURCE_DIR}/tests/cli_test.sh ${ARG_EXIT_CODE} ${checks} -- ${ARG_COMMAND})
  set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}")
endfunction()
