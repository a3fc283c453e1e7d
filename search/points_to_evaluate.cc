#include "search/points_to_evaluate.h"

#include <algorithm>

#include "search/joined.h"
#include "search/search_space.h"

namespace kdnas {

StatusOr<std::vector<Point>> ResolvePointsToEvaluate(
    const SearchSpace& space, const std::vector<std::map<std::string, std::string>>& given) {
  const ParameterSpace& parameters = space.parameters();
  std::vector<std::string> searched;
  for (const auto& p : parameters.parameters()) searched.push_back(p.name);
  std::vector<Point> points;
  for (size_t j = 0; j < given.size(); ++j) {
    const std::string at = "space.points_to_evaluate[" + std::to_string(j) + "]";
    for (const auto& [name, value] : given[j]) {
      if (std::find(searched.begin(), searched.end(), name) == searched.end()) {
        return InvalidArgument(at + ".values." + name + ": not a searched parameter (searched: " +
                               (searched.empty() ? "none" : Joined(searched)) + ")");
      }
    }
    Point point(parameters.size());
    for (size_t i = 0; i < parameters.size(); ++i) {
      const std::string& name = parameters.parameter(i).name;
      auto named = given[j].find(name);
      if (named != given[j].end()) {
        KDNAS_ASSIGN_OR_RETURN(point[i],
                               space.CoordinateOf(i, named->second, at + ".values." + name));
        continue;
      }
      std::optional<double> base = space.BaseCoordinate(i);
      if (!base) {
        return InvalidArgument(
            at + ".values: " + name +
            " must be given (the base's value is not among its searched values)");
      }
      point[i] = *base;
    }
    for (size_t k = 0; k < points.size(); ++k) {
      if (points[k] == point) {
        return InvalidArgument(at + ": the same student as space.points_to_evaluate[" +
                               std::to_string(k) + "]");
      }
    }
    points.push_back(std::move(point));
  }
  return points;
}

}  // namespace kdnas
