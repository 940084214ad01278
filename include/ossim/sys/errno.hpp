#pragma once

/// @file
/// Error numbers, with Linux's values (asm-generic/errno-base.h and errno.h). A syscall
/// returns a value or the negated error number in rax, as on Linux x86-64.

#include <cstdint>
#include <string_view>

namespace ossim::sys {

enum class Errno : std::int32_t {
  kEPERM = 1,
  kENOENT = 2,
  kESRCH = 3,
  kEINTR = 4,
  kEIO = 5,
  kENXIO = 6,
  kE2BIG = 7,
  kENOEXEC = 8,
  kEBADF = 9,
  kECHILD = 10,
  kEAGAIN = 11,
  kENOMEM = 12,
  kEACCES = 13,
  kEFAULT = 14,
  kEBUSY = 16,
  kEEXIST = 17,
  kEXDEV = 18,
  kENODEV = 19,
  kENOTDIR = 20,
  kEISDIR = 21,
  kEINVAL = 22,
  kENFILE = 23,
  kEMFILE = 24,
  kENOTTY = 25,
  kEFBIG = 27,
  kENOSPC = 28,
  kESPIPE = 29,
  kEROFS = 30,
  kEMLINK = 31,
  kEPIPE = 32,
  kERANGE = 34,
  kEDEADLK = 35,
  kENAMETOOLONG = 36,
  kENOSYS = 38,
  kENOTEMPTY = 39,
  kELOOP = 40,
  kEOVERFLOW = 75,
  kENOTSUP = 95,
  kETIMEDOUT = 110,
};

/// The symbolic name ("ENOENT"), or "E?" for a number not listed here.
std::string_view errno_name(Errno error);

/// The raw syscall return for an error: -errno.
constexpr std::int64_t to_syscall_return(Errno error) { return -static_cast<std::int64_t>(error); }

}  // namespace ossim::sys
