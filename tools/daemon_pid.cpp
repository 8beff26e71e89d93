#include "tools/daemon_pid.hpp"

#include <charconv>
#include <fstream>
#include <iterator>
#include <sys/stat.h>
#include <unistd.h>

namespace manta::tools {

namespace {

std::string proc_file(pid_t pid, const char* name) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/" + name, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

template <class T>
bool parse_number(std::string_view text, T& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size() && !text.empty();
}

} // namespace

uint64_t process_start_time(pid_t pid) {
  // "PID (COMM) STATE PPID ...": COMM may hold spaces and parentheses, so
  // the fields are counted from the last ')'. The start time is field 22.
  auto stat = proc_file(pid, "stat");
  auto close = stat.rfind(')');
  if (close == std::string::npos)
    return 0;
  std::string_view rest{stat};
  rest.remove_prefix(close + 1);
  for (int field = 3; field <= 22; ++field) {
    while (!rest.empty() && rest.front() == ' ')
      rest.remove_prefix(1);
    auto end = rest.find(' ');
    auto value = rest.substr(0, end);
    if (field == 22) {
      uint64_t out = 0;
      return parse_number(value, out) ? out : 0;
    }
    if (end == std::string_view::npos)
      return 0;
    rest.remove_prefix(end);
  }
  return 0;
}

bool process_ended(pid_t pid) {
  auto stat = proc_file(pid, "stat");
  auto close = stat.rfind(')');
  if (close == std::string::npos || close + 2 >= stat.size())
    return true;
  auto state = stat[close + 2];
  return state == 'Z' || state == 'X';
}

std::string pid_file_text(pid_t pid) {
  return std::to_string(pid) + " " + std::to_string(process_start_time(pid)) + "\n";
}

std::string parse_pid_file(std::string_view text, daemon_record& out) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
    text.remove_suffix(1);
  auto space = text.find(' ');
  if (space == std::string_view::npos || !parse_number(text.substr(0, space), out.pid)
      || out.pid <= 1 || !parse_number(text.substr(space + 1), out.start_time)
      || out.start_time == 0)
    return "it does not hold 'PID START_TIME' as `manta start` writes it";
  return {};
}

std::string verify_daemon(const daemon_record& rec, std::string_view marker) {
  auto pid = std::to_string(rec.pid);
  struct stat st {};
  if (::stat(("/proc/" + pid).c_str(), &st) != 0 || process_ended(rec.pid))
    return "no process " + pid + " runs (the daemon ended)";
  if (st.st_uid != ::geteuid())
    return "process " + pid + " belongs to uid " + std::to_string(st.st_uid)
           + ", not to you: it is not the daemon `manta start` recorded";
  if (process_start_time(rec.pid) != rec.start_time)
    return "process " + pid
           + " started at another time than the daemon recorded: the "
             "daemon ended and another process has its number";
  // The arguments, separated by NULs.
  auto cmdline = proc_file(rec.pid, "cmdline");
  std::string_view args{cmdline};
  while (!args.empty()) {
    auto end = args.find('\0');
    if (args.substr(0, end) == marker)
      return {};
    if (end == std::string_view::npos)
      break;
    args.remove_prefix(end + 1);
  }
  return "process " + pid + " does not run as a Manta daemon (its command line has no "
         + std::string{marker} + ")";
}

} // namespace manta::tools
