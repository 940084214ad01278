
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/src/sim/engine.cpp" "src/CMakeFiles/ossim.dir/sim/engine.cpp.o" "gcc" "src/CMakeFiles/ossim.dir/sim/engine.cpp.o.d"
  "/work/main/src/sim/fiber.cpp" "src/CMakeFiles/ossim.dir/sim/fiber.cpp.o" "gcc" "src/CMakeFiles/ossim.dir/sim/fiber.cpp.o.d"
  "/work/main/src/sim/random.cpp" "src/CMakeFiles/ossim.dir/sim/random.cpp.o" "gcc" "src/CMakeFiles/ossim.dir/sim/random.cpp.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
