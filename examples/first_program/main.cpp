// The program in the README, kept here so that it is compiled and run by the tests.
#include <cstdio>

#include "ossim/ossim.hpp"
using namespace ossim;

int main() {
  sim::Engine engine({.seed = 42});
  Machine machine(engine, {.cpus = 2, .memory_bytes = 64 << 20});
  cpu::Context program(engine.fibers(), [&] {
    machine.cpu(0).compute(3'000);                       // 1 us at 3 GHz
    machine.cpu(0).store<std::uint64_t>(0x100000, 42);   // paging off: physical address
  });
  machine.cpu(0).start(program);
  engine.run();                                          // machine.cpu(0).now() == 1 us + one store
  std::printf("cpu0 at %llu ps; memory[0x100000] = %llu\n",
              static_cast<unsigned long long>(machine.cpu(0).now()),
              static_cast<unsigned long long>(machine.memory().read<std::uint64_t>(0x100000)));
  return machine.memory().read<std::uint64_t>(0x100000) == 42 ? 0 : 1;
}
