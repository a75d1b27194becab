# `cmake --install`: the executables, the model profiles, the scenarios, the public headers, the
# libraries and a CMake package, so that another project does find_package(quecsim) and links
# quecsim::station (the fixture).
include(CMakePackageConfigHelpers)

set(QUECSIM_SCENARIO_DIR share/quecsim/scenarios)
set(QUECSIM_PROFILE_DIR share/quecsim/profiles)
set(QUECSIM_CMAKE_DIR lib/cmake/quecsim)

# Installed, each layer keeps its name: quecsim::core is the core layer, quecsim::station the
# station and the fixture, standing on every other layer (what a user's test links).
set(quecsim_layers core at serial net storage module ftp tcpip control fault station)
set(quecsim_layer_targets)
foreach(layer ${quecsim_layers})
  set_target_properties(quecsim_${layer} PROPERTIES EXPORT_NAME ${layer})
  list(APPEND quecsim_layer_targets quecsim_${layer})
endforeach()
set_target_properties(quecsim_ftpd PROPERTIES EXPORT_NAME ftpd)
# The fixture finds the installed profiles wherever the prefix was put.
target_compile_definitions(quecsim_station INTERFACE
  "$<INSTALL_INTERFACE:QUECSIM_FIXTURE_PROFILE_DIR=\"$<INSTALL_PREFIX>/${QUECSIM_PROFILE_DIR}\">")
if(QUECSIM_SANITIZE)
  # The libraries are instrumented: whatever links them needs the sanitizers' runtimes.
  target_link_options(quecsim_station INTERFACE $<INSTALL_INTERFACE:-fsanitize=address,undefined>)
endif()

install(TARGETS quecsim quecsim-ftpd ${quecsim_layer_targets} quecsim_ftpd
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
