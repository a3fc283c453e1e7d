// A job's points_to_evaluate: students named by the user that the search
// evaluates first, before its strategy proposes any.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "search/parameter_space.h"
#include "search/status.h"

namespace kdnas {

class SearchSpace;

// The points of `given` (values of searched parameters by name, as text; a
// parameter left out takes the base's value). INVALID_ARGUMENT naming
// "space.points_to_evaluate[j]..." for a name that is not a searched
// parameter, a value outside its domain, a left-out parameter whose base
// value is outside it, or the same student twice. Whether each is a valid
// student depends on the teacher's family: the job's validation checks that.
StatusOr<std::vector<Point>> ResolvePointsToEvaluate(
    const SearchSpace& space, const std::vector<std::map<std::string, std::string>>& given);

}  // namespace kdnas
