# `cmake --install`: the executables, the model profiles, the scenarios, the public headers, the
# libraries and a CMake package, so that another project does find_package(quecsim) and links
# quecsim::core.
include(CMakePackageConfigHelpers)

set(QUECSIM_SCENARIO_DIR share/quecsim/scenarios)
set(QUECSIM_PROFILE_DIR share/quecsim/profiles)
set(QUECSIM_CMAKE_DIR lib/cmake/quecsim)

# In the installed package quecsim::core is the whole library (a user's test wants the fixture,
# which stands on every layer); inside this build quecsim::core stays the layers alone, and the
# exported name of that one is quecsim::layers.
add_library(quecsim_package INTERFACE)
target_link_libraries(quecsim_package INTERFACE quecsim::station)
# The fixture finds the installed profiles wherever the prefix was put.
target_compile_definitions(quecsim_package INTERFACE
  "$<INSTALL_INTERFACE:QUECSIM_FIXTURE_PROFILE_DIR=\"$<INSTALL_PREFIX>/${QUECSIM_PROFILE_DIR}\">")
if(QUECSIM_SANITIZE)
  # The libraries are instrumented: whatever links them needs the sanitizers' runtimes.
  target_link_options(quecsim_package INTERFACE -fsanitize=address,undefined)
endif()
set_target_properties(quecsim_package PROPERTIES EXPORT_NAME core)
set_target_properties(quecsim_core PROPERTIES EXPORT_NAME layers)
set_target_properties(quecsim_ftpd PROPERTIES EXPORT_NAME ftpd)
set_target_properties(quecsim_fault PROPERTIES EXPORT_NAME fault)
set_target_properties(quecsim_station PROPERTIES EXPORT_NAME station)

install(TARGETS quecsim quecsim-ftpd quecsim_core quecsim_ftpd quecsim_fault quecsim_station
                quecsim_package
        EXPORT quecsimTargets
        RUNTIME DESTINATION bin
        ARCHIVE DESTINATION lib
        LIBRARY DESTINATION lib)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/quecsim ${PROJECT_SOURCE_DIR}/ftpserver/include/quecsim
        DESTINATION include)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/scenarios/ DESTINATION ${QUECSIM_SCENARIO_DIR})
install(EXPORT quecsimTargets NAMESPACE quecsim:: DESTINATION ${QUECSIM_CMAKE_DIR})

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/quecsimConfig.cmake.in
  ${PROJECT_BINARY_DIR}/quecsimConfig.cmake
  INSTALL_DESTINATION ${QUECSIM_CMAKE_DIR}
  PATH_VARS QUECSIM_SCENARIO_DIR QUECSIM_PROFILE_DIR)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/quecsimConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/quecsimConfig.cmake
              ${PROJECT_BINARY_DIR}/quecsimConfigVersion.cmake
        DESTINATION ${QUECSIM_CMAKE_DIR})
