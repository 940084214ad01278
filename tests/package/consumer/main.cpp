// Uses the public API and checks the version macro, so that a broken package (missing
// header, wrong include path, missing dependency) fails to build or run.
#include <cstdio>
#include <cstring>

#include "ossim/ossim.hpp"

int main() {
  ossim::sim::Engine engine({.seed = 3});
  ossim::Machine machine(engine, {.cpus = 1, .memory_bytes = 16 << 20});
  ossim::cpu::Context context(engine.fibers(), [&] { machine.cpu(0).compute(3000); });
  machine.cpu(0).start(context);
  engine.run();
  const bool ok = machine.cpu(0).now() == ossim::sim::kMicrosecond && std::strlen(OSSIM_VERSION_STRING) > 0 &&
                  OSSIM_VERSION_MAJOR >= 0;
  std::printf("ossim %s consumer: %s\n", OSSIM_VERSION_STRING, ok ? "ok" : "wrong result");
  return ok ? 0 : 1;
}
