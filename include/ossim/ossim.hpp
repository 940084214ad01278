#pragma once

/// @file
/// Everything public in one include: the engine, the simulated hardware and the machine.

#include "ossim/cpu/context.hpp"
#include "ossim/cpu/cpu.hpp"
#include "ossim/cpu/registers.hpp"
#include "ossim/cpu/vector_table.hpp"
#include "ossim/dev/console.hpp"
#include "ossim/dev/interrupt_controller.hpp"
#include "ossim/dev/local_apic.hpp"
#include "ossim/dev/local_timer.hpp"
#include "ossim/machine/machine.hpp"
#include "ossim/mmu/address.hpp"
#include "ossim/mmu/frame_allocator.hpp"
#include "ossim/mmu/mmu.hpp"
#include "ossim/mmu/page_table.hpp"
#include "ossim/mmu/page_walker.hpp"
#include "ossim/mmu/physical_memory.hpp"
#include "ossim/mmu/pte.hpp"
#include "ossim/mmu/tlb.hpp"
#include "ossim/sim/engine.hpp"
#include "ossim/sim/event.hpp"
#include "ossim/sim/fiber.hpp"
#include "ossim/sim/random.hpp"
#include "ossim/sim/tick.hpp"
#include "ossim/version.hpp"
