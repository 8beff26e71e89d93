#pragma once

#include <string>

namespace manta::detail {

/// The first symbol that the ELF shared library at `path` defines as
/// STB_GNU_UNIQUE, or "" if it defines none (or is no ELF file: dlopen then
/// says why). GCC gives the statics of templates and inline functions that
/// binding unless built with -fno-gnu-unique, and the dynamic loader keeps
/// one of each per process, even across libraries loaded apart
/// (RTLD_LOCAL): two job libraries would then share their registrations'
/// guards and their layouts' caches (code_loader.cpp refuses such a one).
std::string first_unique_symbol(const std::string& path);

} // namespace manta::detail
