#pragma once

/// @file
/// The ossim version. CMake reads OSSIM_VERSION_STRING from this file, so it is the one
/// place the version is written.

#define OSSIM_VERSION_MAJOR 0
#define OSSIM_VERSION_MINOR 1
#define OSSIM_VERSION_PATCH 0
#define OSSIM_VERSION_STRING "0.1.0"

namespace ossim {

/// The version of the library the program was compiled against.
inline constexpr const char* kVersionString = OSSIM_VERSION_STRING;

}  // namespace ossim
