#include "manta/placement_group.hpp"

#include "manta/placement/placement_groups.hpp"
#include "manta/errors.hpp"
#include "manta/get.hpp"
#include "manta/core/runtime.hpp"
#include "manta/core/text_fields.hpp"

namespace manta {

namespace {

const detail::placement_record& checked(const std::shared_ptr<detail::placement_record>& r,
                                        const char* what) {
  if (r == nullptr)
    throw invalid_argument_error(std::string{"placement_group::"} + what
                                 + ": an empty handle; get one from create_placement_group "
                                   "or get_placement_group");
  return *r;
}

} // namespace

std::string_view to_string(placement_strategy s) noexcept {
  switch (s) {
    case placement_strategy::pack:
      return "PACK";
    case placement_strategy::spread:
      return "SPREAD";
    case placement_strategy::strict_pack:
      return "STRICT_PACK";
    case placement_strategy::strict_spread:
      return "STRICT_SPREAD";
  }
  return "UNKNOWN";
}

std::string placement_group::id() const {
  return checked(record_, "id").hex;
}

const std::string& placement_group::name() const {
  return checked(record_, "name").name;
}

placement_strategy placement_group::strategy() const {
  return checked(record_, "strategy").strategy;
}

const std::vector<resource_map>& placement_group::bundles() const {
  return checked(record_, "bundles").bundles;
}

object_ref<bool> placement_group::ready() const {
  return object_ref<bool>{checked(record_, "ready").ready};
}

bool placement_group::wait(std::chrono::milliseconds timeout) const {
  try {
    return get(ready(), timeout);
  } catch (const get_timeout_error&) {
    return false;
  } catch (const placement_group_removed_error&) {
    return false;
  }
}

uint64_t placement_group::raw_id() const noexcept {
  return record_ == nullptr ? 0 : record_->id;
}

placement_group create_placement_group(std::vector<resource_map> bundles,
                                       placement_strategy strategy, std::string name) {
  return placement_group{
    detail::runtime::here().placements().create(std::move(bundles), strategy, std::move(name))};
}

void remove_placement_group(const placement_group& pg) {
  if (!pg)
    throw invalid_argument_error("remove_placement_group: an empty placement_group handle");
  detail::runtime::here().placements().remove(pg.record());
}

placement_group get_placement_group(const std::string& name) {
  if (name.find_first_not_of(" \t") == std::string::npos)
    throw invalid_argument_error("get_placement_group: a blank name; give the name the group "
                                 "was created with");
  auto* rt = detail::runtime::live();
  auto rec = rt ? rt->placements().find(name) : nullptr;
  if (rec == nullptr)
    throw placement_group_not_found_error(
      "no live placement group is named '" + name
      + "' (list_placement_groups() or `manta list placement-groups` lists them)");
  return placement_group{std::move(rec)};
}

namespace detail {

task_options place_task_in_group(const placement_option& opt, const task_options& opts,
                                 const std::string& fn_name,
                                 std::shared_ptr<placement_record>& group) {
  auto placed = opts;
  group = place_in_group(opt, placed.resources, placed.strategy,
                         "task '" + (placed.name.empty() ? fn_name : placed.name) + "'");
  return placed;
}

} // namespace detail

std::string placement_group_info::field(std::string_view key) const {
  static constexpr detail::text_field<placement_group_info> table[]{
    {"id", &placement_group_info::id},
    {"name", &placement_group_info::name},
    {"strategy", &placement_group_info::strategy},
    {"state", &placement_group_info::state}};
  return detail::text_field_of(*this, key, table);
}

std::vector<placement_group_info> list_placement_groups(const list_filter& filter) {
  std::vector<placement_group_info> out;
  auto* rt = detail::runtime::live();
  if (rt == nullptr)
    return out;
  for (auto& info : rt->placements().list()) {
    if (out.size() >= filter.limit)
      break;
    if (filter.matches(info))
      out.push_back(std::move(info));
  }
  return out;
}

} // namespace manta
