// Distance indicators of an approximation set A against a reference front Z
// (pymoo's definitions): GD = mean over a in A of the distance to the nearest
// z; IGD = mean over z in Z of the distance to the nearest a.
#pragma once

#include <vector>

#include "search/hypervolume.h"

namespace kdnas {

double GenerationalDistance(const std::vector<ObjectiveVector>& approximation,
                            const std::vector<ObjectiveVector>& reference_front);
double InvertedGenerationalDistance(const std::vector<ObjectiveVector>& approximation,
                                    const std::vector<ObjectiveVector>& reference_front);

}  // namespace kdnas
