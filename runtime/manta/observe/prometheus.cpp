#include "manta/observe/prometheus.hpp"

#include <cmath>
#include <cstdio>

namespace manta::detail {

namespace {

std::string number(double v) {
  if (std::isnan(v))
    return "NaN";
  if (std::isinf(v))
    return v > 0 ? "+Inf" : "-Inf";
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%.12g", v);
  return buf;
}

void append_labels(std::string& out, const metrics::tags& labels) {
  if (labels.empty())
    return;
  out += '{';
  bool first = true;
  for (auto& [k, v] : labels) {
    if (!first)
      out += ',';
    first = false;
    out += k;
    out += "=\"";
    for (char c : v) {
      if (c == '\\' || c == '"')
        out += '\\';
      if (c == '\n') {
        out += "\\n";
        continue;
      }
      out += c;
    }
    out += '"';
  }
  out += '}';
}

} // namespace

bool valid_metric_name(std::string_view name) noexcept {
  if (name.empty())
    return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':'
              || (i > 0 && c >= '0' && c <= '9');
    if (!ok)
      return false;
  }
  return true;
}

void prometheus_writer::family(std::string_view name, std::string_view type,
                               std::string_view help) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  for (char c : help)
    out_ += c == '\n' ? ' ' : c;
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

void prometheus_writer::sample(std::string_view name, const metrics::tags& labels, double value) {
  out_ += name;
  append_labels(out_, labels);
  out_ += ' ';
  out_ += number(value);
  out_ += '\n';
}

void prometheus_writer::histogram(std::string_view name, const metrics::tags& labels,
                                  const std::vector<double>& bounds,
                                  const std::vector<uint64_t>& cumulative, uint64_t count,
                                  double sum) {
  std::string bucket{name};
  bucket += "_bucket";
  for (size_t i = 0; i < bounds.size(); ++i) {
    auto l = labels;
    l["le"] = number(bounds[i]);
    sample(bucket, l, static_cast<double>(cumulative[i]));
  }
  auto l = labels;
  l["le"] = "+Inf";
  sample(bucket, l, static_cast<double>(count));
  sample(std::string{name} + "_sum", labels, sum);
  sample(std::string{name} + "_count", labels, static_cast<double>(count));
}

} // namespace manta::detail
