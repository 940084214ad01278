file(REMOVE_RECURSE
  "CMakeFiles/ossim.dir/sim/engine.cpp.o"
  "CMakeFiles/ossim.dir/sim/engine.cpp.o.d"
  "CMakeFiles/ossim.dir/sim/fiber.cpp.o"
  "CMakeFiles/ossim.dir/sim/fiber.cpp.o.d"
  "CMakeFiles/ossim.dir/sim/random.cpp.o"
  "CMakeFiles/ossim.dir/sim/random.cpp.o.d"
  "libossim.a"
  "libossim.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang CXX)
  include(CMakeFiles/ossim.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
