# SPDX-License-Identifier: Apache-2.0
# `cmake --install BUILD --prefix P`: the programs, the systemd unit, the default config, bash
# completion, man pages (help2man, generated at build time) and the docs, under P (GNUInstallDirs).
# A distribution package passes -DCMAKE_INSTALL_SYSCONFDIR=/etc for /etc/shype/shyped.conf.
include(GNUInstallDirs)

set(SHYPE_SYSTEMD_UNIT_DIR "lib/systemd/system" CACHE STRING
    "where the shyped.service unit is installed (relative: under the prefix)")
set(SHYPE_BASH_COMPLETION_DIR "${CMAKE_INSTALL_DATADIR}/bash-completion/completions" CACHE STRING
    "where shype's bash completion is installed (relative: under the prefix)")

# shype-policyc, the sandboxed policy compiler, must sit beside shype and shyped (both run it
# from their own directory), so all three go to bin/.
install(TARGETS shype shyped shype-policyc RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# The unit names the installed shyped and its installed config file: written at install time,
# when the prefix is known (an absolute CMAKE_INSTALL_SYSCONFDIR, e.g. /etc, is used as it is).
set(SHYPE_UNIT_OUT ${CMAKE_BINARY_DIR}/packaging/shyped.service)
install(CODE "
  set(SHYPED_PATH \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/shyped\")
  set(sysconf \"${CMAKE_INSTALL_SYSCONFDIR}\")
  cmake_path(ABSOLUTE_PATH sysconf BASE_DIRECTORY \"\${CMAKE_INSTALL_PREFIX}\")
  set(SHYPED_CONF \"\${sysconf}/shype/shyped.conf\")
  configure_file(\"${PROJECT_SOURCE_DIR}/packaging/shyped.service.in\" \"${SHYPE_UNIT_OUT}\" @ONLY)")
install(FILES ${SHYPE_UNIT_OUT} DESTINATION ${SHYPE_SYSTEMD_UNIT_DIR})
install(FILES packaging/shyped.conf DESTINATION ${CMAKE_INSTALL_SYSCONFDIR}/shype)
install(FILES packaging/shype.bash-completion DESTINATION ${SHYPE_BASH_COMPLETION_DIR}
        RENAME shype)
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR} FILES_MATCHING PATTERN "*.md")
install(DIRECTORY examples/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)

# Man pages from the programs' --help (help2man), never committed.
find_program(HELP2MAN help2man)
if(HELP2MAN)
  set(SHYPE_MAN_DIR ${CMAKE_BINARY_DIR}/man)
  add_custom_command(OUTPUT ${SHYPE_MAN_DIR}/shype.1
    COMMAND ${CMAKE_COMMAND} -E make_directory ${SHYPE_MAN_DIR}
    COMMAND ${HELP2MAN} --no-info --no-discard-stderr --section=1
            --version-string=${PROJECT_VERSION}
            "--name=mandatory access control for QEMU/KVM virtual machines (sHype/ACM)"
            --output=${SHYPE_MAN_DIR}/shype.1 $<TARGET_FILE:shype>
    DEPENDS shype VERBATIM)
  add_custom_command(OUTPUT ${SHYPE_MAN_DIR}/shyped.8
    COMMAND ${CMAKE_COMMAND} -E make_directory ${SHYPE_MAN_DIR}
    COMMAND ${HELP2MAN} --no-info --no-discard-stderr --section=8
            --version-string=${PROJECT_VERSION}
            "--name=the shype host daemon: reference monitor and labeled QEMU domains"
            --output=${SHYPE_MAN_DIR}/shyped.8 $<TARGET_FILE:shyped>
    DEPENDS shyped VERBATIM)
  add_custom_target(man_pages ALL DEPENDS ${SHYPE_MAN_DIR}/shype.1 ${SHYPE_MAN_DIR}/shyped.8)
  install(FILES ${SHYPE_MAN_DIR}/shype.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
  install(FILES ${SHYPE_MAN_DIR}/shyped.8 DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
else()
  message(WARNING "help2man not found: no man pages (apt-get install help2man)")
endif()
