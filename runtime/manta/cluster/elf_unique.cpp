#include "manta/cluster/elf_unique.hpp"

#include <cstring>
#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace manta::detail {

namespace {

/// A file mapped for reading, unmapped when it goes.
struct mapped_file {
  const char* data = nullptr;
  size_t size = 0;

  explicit mapped_file(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      return;
    struct stat st {};
    if (::fstat(fd, &st) == 0 && st.st_size > 0) {
      void* p = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
      if (p != MAP_FAILED) {
        data = static_cast<const char*>(p);
        size = static_cast<size_t>(st.st_size);
      }
    }
    ::close(fd);
  }

  ~mapped_file() {
    if (data != nullptr)
      ::munmap(const_cast<char*>(data), size);
  }

  mapped_file(const mapped_file&) = delete;
  mapped_file& operator=(const mapped_file&) = delete;

  /// Whether [offset, offset + n) lies in the file.
  bool holds(uint64_t offset, uint64_t n) const { return offset <= size && n <= size - offset; }
};

} // namespace

std::string first_unique_symbol(const std::string& path) {
  mapped_file f{path};
  if (!f.holds(0, sizeof(Elf64_Ehdr)) || std::memcmp(f.data, ELFMAG, SELFMAG) != 0
      || f.data[EI_CLASS] != ELFCLASS64)
    return {};
  Elf64_Ehdr eh;
  std::memcpy(&eh, f.data, sizeof eh);
  if (eh.e_shentsize != sizeof(Elf64_Shdr)
      || !f.holds(eh.e_shoff, uint64_t{eh.e_shnum} * sizeof(Elf64_Shdr)))
    return {};
  auto section = [&](size_t i) {
    Elf64_Shdr sh;
    std::memcpy(&sh, f.data + eh.e_shoff + i * sizeof(Elf64_Shdr), sizeof sh);
    return sh;
  };
  for (size_t i = 0; i < eh.e_shnum; ++i) {
    auto sh = section(i);
    if (sh.sh_type != SHT_DYNSYM || sh.sh_link >= eh.e_shnum || !f.holds(sh.sh_offset, sh.sh_size))
      continue;
    auto strings = section(sh.sh_link);
    if (!f.holds(strings.sh_offset, strings.sh_size))
      return {};
    for (uint64_t at = 0; at + sizeof(Elf64_Sym) <= sh.sh_size; at += sizeof(Elf64_Sym)) {
      Elf64_Sym sym;
      std::memcpy(&sym, f.data + sh.sh_offset + at, sizeof sym);
      if (ELF64_ST_BIND(sym.st_info) != STB_GNU_UNIQUE || sym.st_shndx == SHN_UNDEF)
        continue;
      if (sym.st_name >= strings.sh_size)
        return "?";
      const char* name = f.data + strings.sh_offset + sym.st_name;
      return std::string{name, ::strnlen(name, strings.sh_size - sym.st_name)};
    }
  }
  return {};
}

} // namespace manta::detail
