# SPDX-License-Identifier: Apache-2.0
# Helpers shared by every component: warnings, library/test/bench registration.

set(SHYPE_WARNINGS -Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion -Wshadow
    -Wnon-virtual-dtor -Wold-style-cast -Wimplicit-fallthrough)
if(SHYPE_WERROR)
  list(APPEND SHYPE_WARNINGS -Werror)
endif()

# shype_add_library(<component> SOURCES ... DEPS ...)
# Builds target shype_<component> (alias shype::<component>) with public headers in include/.
function(shype_add_library component)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  set(target shype_${component})
  add_library(${target} STATIC ${ARG_SOURCES})
  add_library(shype::${component} ALIAS ${target})
  target_include_directories(${target} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include
                                       PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  target_compile_options(${target} PRIVATE ${SHYPE_WARNINGS})
  target_link_libraries(${target} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
endfunction()

# shype_add_test(<component> SOURCES ... DEPS ...)
# Builds shype_<component>_test from the *_test.cc beside the code; ctest discovers the cases.
function(shype_add_test component)
  if(SHYPE_FUZZ)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  set(target shype_${component}_test)
  add_executable(${target} ${ARG_SOURCES})
  target_compile_options(${target} PRIVATE ${SHYPE_WARNINGS})
  target_include_directories(${target} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}
                                                   ${PROJECT_SOURCE_DIR}/tests/support)
  target_link_libraries(${target} PRIVATE shype::${component} ${ARG_DEPS} GTest::gmock GTest::gtest_main)
  target_compile_definitions(${target} PRIVATE
      SHYPE_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
      SHYPE_SHARED_DIR="${PROJECT_SOURCE_DIR}/../shared"
      SHYPE_BINARY_DIR="${PROJECT_BINARY_DIR}")
  set_target_properties(${target} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  gtest_discover_tests(${target} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS unit)
endfunction()
