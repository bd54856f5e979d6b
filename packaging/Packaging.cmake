# Install rules for the desktop integration and docs, and CPack's Debian packages:
#   precis       precis, precis-cli, the .desktop entry and icon, AppStream metainfo, docs
#                (component "Unspecified": every install() without a component goes here)
#   precis-cuda  libprecis-cuda.so (component "cuda", only when the CUDA module is built); the
#                main package runs without it (the registry dlopens it when present).
# `cpack -G DEB` in the build folder writes both. Tested by tests/ui (label packaging): an install
# into a scratch DESTDIR runs precis-cli --version and an evaluation; the slow variant runs cpack
# and unpacks the .deb with dpkg -x (about a second here).
set(PRECIS_APP_ID io.github.precis.Precis)
install(FILES ${PROJECT_SOURCE_DIR}/resources/${PRECIS_APP_ID}.desktop DESTINATION share/applications)
install(FILES ${PROJECT_SOURCE_DIR}/resources/${PRECIS_APP_ID}.svg DESTINATION share/icons/hicolor/scalable/apps)
install(FILES ${PROJECT_SOURCE_DIR}/resources/${PRECIS_APP_ID}.metainfo.xml DESTINATION share/metainfo)
file(GLOB PRECIS_DOC_FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/docs/*.md)
install(FILES ${PRECIS_DOC_FILES} DESTINATION share/doc/precis)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/screenshots DESTINATION share/doc/precis FILES_MATCHING PATTERN "*.png")

set(PRECIS_PACKAGE_COMPONENTS Unspecified)
if(TARGET precis_cuda)
  # The registry looks in <bin>/../lib/precis first.
  install(TARGETS precis_cuda LIBRARY DESTINATION lib/precis COMPONENT cuda)
  list(APPEND PRECIS_PACKAGE_COMPONENTS cuda)
endif()

set(CPACK_PACKAGE_NAME precis)
set(CPACK_PACKAGE_VENDOR "Precis")
set(CPACK_PACKAGE_CONTACT "Precis maintainers <precis@example.org>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Workbench for quantizing, batching and distilling language models")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_GENERATOR DEB)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL ${PRECIS_PACKAGE_COMPONENTS})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://github.com/precis/precis")
set(CPACK_DEBIAN_UNSPECIFIED_PACKAGE_NAME precis)
set(CPACK_DEBIAN_UNSPECIFIED_DESCRIPTION
    "The precis desktop application and the precis-cli command-line tool.")
# Listed by hand (CPack does not find the Qt SQLite plugin or dlopen'ed libraries by itself).
set(CPACK_DEBIAN_UNSPECIFIED_PACKAGE_DEPENDS
    "libqt6core6 (>= 6.4), libqt6gui6 (>= 6.4), libqt6widgets6 (>= 6.4), libqt6charts6 (>= 6.4), libqt6svg6 (>= 6.4), libqt6sql6 (>= 6.4), libqt6sql6-sqlite (>= 6.4), libqt6opengl6 (>= 6.4), libopenblas0 | libopenblas0-pthread, libsqlite3-0 (>= 3.35), libgomp1, libstdc++6 (>= 12)")
set(CPACK_DEBIAN_UNSPECIFIED_PACKAGE_RECOMMENDS "precis-cuda")
set(CPACK_DEBIAN_CUDA_PACKAGE_NAME precis-cuda)
set(CPACK_DEBIAN_CUDA_DESCRIPTION
    "libprecis-cuda.so, loaded by precis and precis-cli when an NVIDIA GPU and driver are present.")
# NVIDIA's Debian repository names for the CUDA 13 runtime and cuBLAS.
set(CPACK_DEBIAN_CUDA_PACKAGE_DEPENDS "precis (= ${PROJECT_VERSION}), cuda-cudart-13-0 | libcudart13, libcublas-13-0 | libcublas13")
include(CPack)
