#include "search/pareto_archive.h"

#include <algorithm>

namespace kdnas {
namespace {

bool WeaklyDominates(const ObjectiveVector& a, const ObjectiveVector& b) {
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] > b[i]) return false;
  }
  return true;
}

}  // namespace

ParetoArchive::ParetoArchive(ObjectiveVector reference) : reference_(std::move(reference)) {
  if (reference_.size() == 2) front2d_ = std::make_unique<Front2D>(reference_[0], reference_[1]);
}

bool ParetoArchive::Dominated(const ObjectiveVector& point) const {
  if (front2d_) return front2d_->Dominated(point[0], point[1]);
  for (const Member& m : members_) {
    if (WeaklyDominates(m.point, point)) return true;
  }
  return false;
}

ParetoArchive::Change ParetoArchive::Insert(int64_t id, const ObjectiveVector& point) {
  Change change;
  if (front2d_) {
    change.added = front2d_->Insert(point[0], point[1], id, &change.removed);
    return change;
  }
  if (Dominated(point)) return change;
  auto dominated = [&](const Member& m) { return WeaklyDominates(point, m.point); };
  for (const Member& m : members_) {
    if (dominated(m)) change.removed.push_back(m.id);
  }
  members_.erase(std::remove_if(members_.begin(), members_.end(), dominated), members_.end());
  members_.push_back({id, point});
  change.added = true;
  hypervolume_cache_.reset();
  return change;
}

double ParetoArchive::hypervolume() const {
  if (front2d_) return front2d_->area();
  if (!hypervolume_cache_) {
    std::vector<ObjectiveVector> points;
    for (const Member& m : members_) points.push_back(m.point);
    hypervolume_cache_ = Hypervolume(points, reference_);
  }
  return *hypervolume_cache_;
}

size_t ParetoArchive::size() const { return front2d_ ? front2d_->size() : members_.size(); }

std::vector<ParetoArchive::Member> ParetoArchive::Members() const {
  std::vector<Member> out;
  if (front2d_) {
    for (const auto& [x, m] : front2d_->members()) out.push_back({m.id, {x, m.y}});
    return out;
  }
  out = members_;
  std::sort(out.begin(), out.end(), [](const Member& a, const Member& b) { return a.point < b.point; });
  return out;
}

}  // namespace kdnas
