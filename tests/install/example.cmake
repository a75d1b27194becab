# Run by ctest ("install: catch2 example"): cmake --install, then the example project against
# the prefix. Every step must succeed; its output is shown when one fails.
function(step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}\n${err}")
  endif()
  message(STATUS "${what}: ok")
endfunction()

set(prefix ${WORK_DIR}/prefix)
set(build ${WORK_DIR}/build)
file(REMOVE_RECURSE ${WORK_DIR})

step("cmake --install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
foreach(file bin/quecsim bin/quecsim-ftpd share/quecsim/profiles/M95.json
             share/quecsim/scenarios/schema.json include/quecsim/fixture.hpp
             include/quecsim/ftpd/server.hpp lib/cmake/quecsim/quecsimConfig.cmake
             lib/cmake/quecsim/quecsimConfigVersion.cmake)
  if(NOT EXISTS ${prefix}/${file})
    message(FATAL_ERROR "cmake --install did not install ${file}")
  endif()
endforeach()

set(configure ${CMAKE_COMMAND} -S ${EXAMPLE_DIR} -B ${build} -DCMAKE_PREFIX_PATH=${prefix}
              -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_BUILD_TYPE=${BUILD_TYPE})
if(LAUNCHER)
  list(APPEND configure -DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER})
endif()
step("configure the example" ${configure})
step("build the example" ${CMAKE_COMMAND} --build ${build} -j2)
step("run the example" ${CMAKE_CTEST_COMMAND} --test-dir ${build} --output-on-failure)
