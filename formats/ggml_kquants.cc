// The k-quants: super-blocks of 256 values whose sub-block scales (and, for
// the asymmetric types, mins) are themselves quantized, to 4, 6 or 8 bits,
// against the super-block's fp16 scale. The scale searches are ggml's
// (make_qx_quants, make_q3_quants, make_qkx2_quants), with their float
// expressions kept operand for operand: reordering one sum changes the bits.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

#include "formats/ggml_blocks.h"
#include "formats/ggml_quants.h"

namespace kdnas {
namespace {

// A sub-block whose largest magnitude is below this quantizes to zeros.
constexpr float kGroupMaxEps = 1e-15f;

// ggml's nearest_int: adding 1.5 * 2^23 leaves the integer, rounded half to
// even, in the low mantissa bits. Exact for |x| < 2^22; beyond that ggml
// keeps whatever those bits say, and so does this.
int NearestInt(float x) {
  const float shifted = x + 12582912.f;
  return static_cast<int>(std::bit_cast<uint32_t>(shifted) & 0x007fffffu) - 0x00400000;
}

int Clamp(int v, int lo, int hi) { return std::max(lo, std::min(hi, v)); }

// The value of the largest magnitude (the first, on a tie) and that
// magnitude.
struct SignedMax {
  float value = 0;
  float magnitude = 0;
};

SignedMax SignedMaxOf(const float* x, int n) {
  SignedMax m;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > m.magnitude) m = {x[i], ax};
  }
  return m;
}

// ------------------------------------------------------ symmetric scales

// make_qx_quants with per-value weights (rmse_type 1 weighs by x^2): levels
// in [-nmax, nmax) for the inverse scale -nmax / max, then the 18 inverse
// scales -(nmax + 0.1 k) / max, k = +-1..9; the one whose least-squares
// scale explains the most weighted energy wins. Writes levels + nmax to `L`
// and returns that scale.
float MakeSymmetricQuants(int n, int nmax, const float* x, const float* weights, int8_t* L) {
  const SignedMax max = SignedMaxOf(x, n);
  if (max.magnitude < kGroupMaxEps) {
    std::fill(L, L + n, 0);
    return 0.f;
  }
  // The weighted sums of l * x and l^2 for an inverse scale, levels to `out`.
  auto sums = [&](float iscale, int8_t* out, float* sumlx, float* suml2) {
    *sumlx = 0;
    *suml2 = 0;
    for (int i = 0; i < n; ++i) {
      const int l = Clamp(NearestInt(iscale * x[i]), -nmax, nmax - 1);
      out[i] = static_cast<int8_t>(l + nmax);
      const float w = weights[i];
      *sumlx += w * x[i] * l;
      *suml2 += w * l * l;
    }
  };
  float sumlx, suml2;
  sums(-nmax / max.value, L, &sumlx, &suml2);
  float scale = suml2 ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  int8_t candidate[32];
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    sums(-(nmax + 0.1f * is) / max.value, candidate, &sumlx, &suml2);
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      std::copy(candidate, candidate + n, L);
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

// make_q3_quants with do_rmse: levels in [-nmax, nmax) for -nmax / max,
// then up to 5 passes that move single levels while that raises
// sumlx^2 / suml2 (weights x^2). Writes levels + nmax to `L`; returns the
// least-squares scale.
float MakeQ3Quants(int n, int nmax, const float* x, int8_t* L) {
  const SignedMax max = SignedMaxOf(x, n);
  if (max.magnitude < kGroupMaxEps) {
    std::fill(L, L + n, 0);
    return 0.f;
  }
  const float iscale = -nmax / max.value;
  float sumlx = 0;
  float suml2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = Clamp(NearestInt(iscale * x[i]), -nmax, nmax - 1);
    L[i] = static_cast<int8_t>(l);
    const float w = x[i] * x[i];
    sumlx += w * x[i] * l;
    suml2 += w * l * l;
  }
  for (int pass = 0; pass < 5; ++pass) {
    int changed = 0;
    for (int i = 0; i < n; ++i) {
      const float w = x[i] * x[i];
      float slx = sumlx - w * x[i] * L[i];
      if (!(slx > 0)) continue;
      float sl2 = suml2 - w * L[i] * L[i];
      const int new_l = Clamp(NearestInt(x[i] * sl2 / slx), -nmax, nmax - 1);
      if (new_l == L[i]) continue;
      slx += w * x[i] * new_l;
      sl2 += w * new_l * new_l;
      if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
        L[i] = static_cast<int8_t>(new_l);
        sumlx = slx;
        suml2 = sl2;
        ++changed;
      }
    }
    if (!changed) break;
  }
  for (int i = 0; i < n; ++i) L[i] = static_cast<int8_t>(L[i] + nmax);
  return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

// ------------------------------------------------------ scale and min

// make_qkx2_quants's search: inverse scales (nmax + rmin + rdelta * k) /
// (max - min), k = 0..steps, each refit by weighted least squares.
struct ScaleMinSearch {
  float rmin;
  float rdelta;
  int steps;
  bool absolute_error;  // use_mad: weigh |error| rather than error^2
};

float WeightedError(int n, const float* x, const float* weights, const uint8_t* L, float scale,
                    float min, bool absolute_error) {
  float error = 0;
  for (int i = 0; i < n; ++i) {
    float diff = scale * L[i] + min - x[i];
    diff = absolute_error ? std::fabs(diff) : diff * diff;
    error += weights[i] * diff;
  }
  return error;
}

// make_qkx2_quants: value ~ scale * L - the_min with L in [0, nmax] and
// the_min >= 0, the weighted error least over the search. Returns the scale.
float MakeScaleMinQuants(int n, int nmax, const float* x, const float* weights, uint8_t* L,
                         float* the_min, const ScaleMinSearch& search) {
  float min = x[0];
  float max = x[0];
  float sum_w = weights[0];
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    sum_w += weights[i];
    sum_x += weights[i] * x[i];
  }
  if (min > 0) min = 0;
  if (max == min) {
    std::fill(L, L + n, 0);
    *the_min = -min;
    return 0.f;
  }
  float iscale = nmax / (max - min);
  float scale = 1 / iscale;
  for (int i = 0; i < n; ++i)
    L[i] = static_cast<uint8_t>(Clamp(NearestInt(iscale * (x[i] - min)), 0, nmax));
  float best_error = WeightedError(n, x, weights, L, scale, min, search.absolute_error);
  if (search.steps < 1) {
    *the_min = -min;
    return scale;
  }
  uint8_t candidate[32];
  for (int is = 0; is <= search.steps; ++is) {
    iscale = (search.rmin + search.rdelta * is + nmax) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      const int l = Clamp(NearestInt(iscale * (x[i] - min)), 0, nmax);
      candidate[i] = static_cast<uint8_t>(l);
      const float w = weights[i];
      sum_l += w * l;
      sum_l2 += w * l * l;
      sum_xl += w * l * x[i];
    }
    const float D = sum_w * sum_l2 - sum_l * sum_l;
    if (!(D > 0)) continue;
    float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
    float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
    if (this_min > 0) {
      this_min = 0;
      this_scale = sum_xl / sum_l2;
    }
    const float error =
        WeightedError(n, x, weights, candidate, this_scale, this_min, search.absolute_error);
    if (error < best_error) {
      std::copy(candidate, candidate + n, L);
      best_error = error;
      scale = this_scale;
      min = this_min;
    }
  }
  *the_min = -min;
  return scale;
}

// Packs 256 two-bit levels as q2_K and q3_K store them.
template <typename Level>
void PackTwoBitLevels(const Level* L, uint8_t* qs) {
  for (int j = 0; j < kGgmlSuperBlock; j += 128) {
    for (int l = 0; l < 32; ++l) {
      qs[j / 4 + l] = static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) |
                                           (L[j + l + 96] << 6));
    }
  }
}

// The two-bit level of value v of a q2_K or q3_K block.
int TwoBitLevel(const uint8_t* qs, int v) {
  return (qs[32 * (v / 128) + v % 32] >> (2 * ((v % 128) / 32))) & 3;
}

}  // namespace

// ---------------------------------------------------------------------- q2_K

void QuantizeBlock(const float* x, BlockQ2_K* block) {
  constexpr float kQ4Scale = 15.f;
  uint8_t L[kGgmlSuperBlock];
  float weights[16], mins[16], scales[16];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < 16; ++j) {
    for (int l = 0; l < 16; ++l) weights[l] = std::fabs(x[16 * j + l]);
    scales[j] = MakeScaleMinQuants(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j],
                                   {-0.5f, 0.1f, 15, true});
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }
  std::fill(block->scales, block->scales + 16, 0);
  block->d = FloatToHalf(0.f);
  block->dmin = FloatToHalf(0.f);
  if (max_scale > 0) {
    const float iscale = kQ4Scale / max_scale;
    for (int j = 0; j < 16; ++j)
      block->scales[j] = static_cast<uint8_t>(NearestInt(iscale * scales[j]));
    block->d = FloatToHalf(max_scale / kQ4Scale);
  }
  if (max_min > 0) {
    const float iscale = kQ4Scale / max_min;
    for (int j = 0; j < 16; ++j)
      block->scales[j] |=
          static_cast<uint8_t>(static_cast<uint8_t>(NearestInt(iscale * mins[j])) << 4);
    block->dmin = FloatToHalf(max_min / kQ4Scale);
  }
  // Requantize against the stored scales; a sub-block of scale 0 keeps its
  // levels from the search.
  for (int j = 0; j < 16; ++j) {
    const float d = HalfToFloat(block->d) * (block->scales[j] & 0xf);
    if (!d) continue;
    const float dm = HalfToFloat(block->dmin) * (block->scales[j] >> 4);
    for (int i = 0; i < 16; ++i)
      L[16 * j + i] = static_cast<uint8_t>(Clamp(NearestInt((x[16 * j + i] + dm) / d), 0, 3));
  }
  PackTwoBitLevels(L, block->qs);
}

void DequantizeBlock(const BlockQ2_K& block, float* y) {
  const float d = HalfToFloat(block.d);
  const float min = HalfToFloat(block.dmin);
  for (int j = 0; j < 16; ++j) {
    const float dl = d * (block.scales[j] & 0xf);
    const float ml = min * (block.scales[j] >> 4);
    for (int l = 0; l < 16; ++l) {
      const int v = 16 * j + l;
      y[v] = dl * TwoBitLevel(block.qs, v) - ml;
    }
  }
}

// ---------------------------------------------------------------------- q3_K

namespace {

// The 6-bit scale of sub-block j, minus 32.
int Q3Scale(const uint8_t* scales, int j) {
  const int low = j < 8 ? scales[j] & 0xf : scales[j - 8] >> 4;
  const int high = (scales[8 + j % 4] >> (2 * (j / 4))) & 3;
  return (low | (high << 4)) - 32;
}

}  // namespace

void QuantizeBlock(const float* x, BlockQ3_K* block) {
  int8_t L[kGgmlSuperBlock];
  float scales[16];
  float max_scale = 0, amax = 0;
  for (int j = 0; j < 16; ++j) {
    scales[j] = MakeQ3Quants(16, 4, x + 16 * j, L + 16 * j);
    if (std::fabs(scales[j]) > amax) {
      amax = std::fabs(scales[j]);
      max_scale = scales[j];
    }
  }
  std::memset(block->scales, 0, sizeof(block->scales));
  block->d = FloatToHalf(0.f);
  if (max_scale) {
    const float iscale = -32.f / max_scale;
    for (int j = 0; j < 16; ++j) {
      const int8_t rounded = static_cast<int8_t>(NearestInt(iscale * scales[j]));
      const int l = Clamp(rounded, -32, 31) + 32;
      if (j < 8) {
        block->scales[j] = static_cast<uint8_t>(l & 0xf);
      } else {
        block->scales[j - 8] |= static_cast<uint8_t>((l & 0xf) << 4);
      }
      block->scales[j % 4 + 8] |= static_cast<uint8_t>((l >> 4) << (2 * (j / 4)));
    }
    block->d = FloatToHalf(1 / iscale);
  }
  for (int j = 0; j < 16; ++j) {
    const float d = HalfToFloat(block->d) * Q3Scale(block->scales, j);
    if (!d) continue;
    for (int i = 0; i < 16; ++i)
      L[16 * j + i] = static_cast<int8_t>(Clamp(NearestInt(x[16 * j + i] / d), -4, 3) + 4);
  }
  // Value v's third bit goes to bit v / 32 of hmask[v % 32].
  std::memset(block->hmask, 0, sizeof(block->hmask));
  for (int v = 0; v < kGgmlSuperBlock; ++v) {
    if (L[v] > 3) {
      block->hmask[v % 32] |= static_cast<uint8_t>(1u << (v / 32));
      L[v] = static_cast<int8_t>(L[v] - 4);
    }
  }
  PackTwoBitLevels(L, block->qs);
}

void DequantizeBlock(const BlockQ3_K& block, float* y) {
  const float d_all = HalfToFloat(block.d);
  for (int j = 0; j < 16; ++j) {
    const float dl = d_all * Q3Scale(block.scales, j);
    for (int l = 0; l < 16; ++l) {
      const int v = 16 * j + l;
      const bool high = (block.hmask[v % 32] >> (v / 32)) & 1;
      y[v] = dl * (TwoBitLevel(block.qs, v) - (high ? 0 : 4));
    }
  }
}

// ---------------------------------------------------------------- q4_K, q5_K

namespace {

// get_scale_min_k4: the 6-bit scale and min of sub-block j (of 8).
void GetScaleMin(int j, const uint8_t* q, uint8_t* scale, uint8_t* min) {
  if (j < 4) {
    *scale = q[j] & 63;
    *min = q[j + 4] & 63;
  } else {
    *scale = static_cast<uint8_t>((q[j + 4] & 0xf) | ((q[j - 4] >> 6) << 4));
    *min = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

// Its inverse, on zeroed `q`.
void PutScaleMin(int j, uint8_t scale, uint8_t min, uint8_t* q) {
  if (j < 4) {
    q[j] = scale;
    q[j + 4] = min;
  } else {
    q[j + 4] = static_cast<uint8_t>((scale & 0xf) | ((min & 0xf) << 4));
    q[j - 4] |= static_cast<uint8_t>((scale >> 4) << 6);
    q[j] |= static_cast<uint8_t>((min >> 4) << 6);
  }
}

// The shared part of q4_K and q5_K: fits 8 sub-blocks of 32 with levels in
// [0, nmax], stores d, dmin and the 6-bit scales, and writes the levels
// requantized against them to `L`.
void QuantizeScaleMinSuperBlock(const float* x, int nmax, const ScaleMinSearch& search,
                                uint16_t* d_bits, uint16_t* dmin_bits, uint8_t* packed_scales,
                                uint8_t* L) {
  float weights[32], mins[8], scales[8];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < 8; ++j) {
    const float* xs = x + 32 * j;
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += xs[l] * xs[l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(xs[l]);
    scales[j] = MakeScaleMinQuants(32, nmax, xs, weights, L + 32 * j, &mins[j], search);
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }
  const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
  const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
  std::memset(packed_scales, 0, kGgmlKScaleBytes);
  for (int j = 0; j < 8; ++j) {
    // Truncated to a byte, then capped, as ggml does.
    const uint8_t ls = static_cast<uint8_t>(NearestInt(inv_scale * scales[j]));
    const uint8_t lm = static_cast<uint8_t>(NearestInt(inv_min * mins[j]));
    PutScaleMin(j, std::min<uint8_t>(63, ls), std::min<uint8_t>(63, lm), packed_scales);
  }
  *d_bits = FloatToHalf(max_scale / 63.f);
  *dmin_bits = FloatToHalf(max_min / 63.f);
  for (int j = 0; j < 8; ++j) {
    uint8_t sc, m;
    GetScaleMin(j, packed_scales, &sc, &m);
    const float d = HalfToFloat(*d_bits) * sc;
    if (!d) continue;
    const float dm = HalfToFloat(*dmin_bits) * m;
    for (int i = 0; i < 32; ++i)
      L[32 * j + i] = static_cast<uint8_t>(Clamp(NearestInt((x[32 * j + i] + dm) / d), 0, nmax));
  }
}

// Sub-block j's level multiplier and offset: value = d * q - m.
void SubBlockScaleMin(const uint8_t* packed_scales, float d, float dmin, int j, float* scale,
                      float* offset) {
  uint8_t sc, m;
  GetScaleMin(j, packed_scales, &sc, &m);
  *scale = d * sc;
  *offset = dmin * m;
}

}  // namespace

void QuantizeBlock(const float* x, BlockQ4_K* block) {
  uint8_t L[kGgmlSuperBlock];
  QuantizeScaleMinSuperBlock(x, 15, {-1.f, 0.1f, 20, false}, &block->d, &block->dmin, block->scales,
                             L);
  for (int h = 0; h < 4; ++h) {
    for (int l = 0; l < 32; ++l)
      block->qs[32 * h + l] = static_cast<uint8_t>(L[64 * h + l] | (L[64 * h + l + 32] << 4));
  }
}

void DequantizeBlock(const BlockQ4_K& block, float* y) {
  const float d = HalfToFloat(block.d);
  const float dmin = HalfToFloat(block.dmin);
  for (int h = 0; h < 4; ++h) {
    float d1, m1, d2, m2;
    SubBlockScaleMin(block.scales, d, dmin, 2 * h, &d1, &m1);
    SubBlockScaleMin(block.scales, d, dmin, 2 * h + 1, &d2, &m2);
    const uint8_t* q = block.qs + 32 * h;
    for (int l = 0; l < 32; ++l) y[64 * h + l] = d1 * (q[l] & 0xf) - m1;
    for (int l = 0; l < 32; ++l) y[64 * h + l + 32] = d2 * (q[l] >> 4) - m2;
  }
}

void QuantizeBlock(const float* x, BlockQ5_K* block) {
  uint8_t L[kGgmlSuperBlock];
  QuantizeScaleMinSuperBlock(x, 31, {-0.5f, 0.1f, 15, false}, &block->d, &block->dmin,
                             block->scales, L);
  std::memset(block->qh, 0, sizeof(block->qh));
  for (int h = 0; h < 4; ++h) {
    for (int l = 0; l < 32; ++l) {
      const int low = L[64 * h + l];
      const int high = L[64 * h + l + 32];
      block->qh[l] |= static_cast<uint8_t>(((low >> 4) << (2 * h)) | ((high >> 4) << (2 * h + 1)));
      block->qs[32 * h + l] = static_cast<uint8_t>((low & 0xf) | ((high & 0xf) << 4));
    }
  }
}

void DequantizeBlock(const BlockQ5_K& block, float* y) {
  const float d = HalfToFloat(block.d);
  const float dmin = HalfToFloat(block.dmin);
  for (int h = 0; h < 4; ++h) {
    float d1, m1, d2, m2;
    SubBlockScaleMin(block.scales, d, dmin, 2 * h, &d1, &m1);
    SubBlockScaleMin(block.scales, d, dmin, 2 * h + 1, &d2, &m2);
    const uint8_t* q = block.qs + 32 * h;
    for (int l = 0; l < 32; ++l) {
      const int high1 = (block.qh[l] >> (2 * h)) & 1;
      const int high2 = (block.qh[l] >> (2 * h + 1)) & 1;
      y[64 * h + l] = d1 * ((q[l] & 0xf) + 16 * high1) - m1;
      y[64 * h + l + 32] = d2 * ((q[l] >> 4) + 16 * high2) - m2;
    }
  }
}

// ---------------------------------------------------------------------- q6_K

void QuantizeBlock(const float* x, BlockQ6_K* block) {
  int8_t L[kGgmlSuperBlock];
  float scales[16], weights[16];
  float max_scale = 0, max_abs_scale = 0;
  for (int j = 0; j < 16; ++j) {
    const float* xs = x + 16 * j;
    for (int l = 0; l < 16; ++l) weights[l] = xs[l] * xs[l];
    scales[j] = MakeSymmetricQuants(16, 32, xs, weights, L + 16 * j);
    if (std::fabs(scales[j]) > max_abs_scale) {
      max_abs_scale = std::fabs(scales[j]);
      max_scale = scales[j];
    }
  }
  std::memset(block, 0, sizeof(*block));
  if (max_abs_scale < kGroupMaxEps) return;  // d = +0
  const float iscale = -128.f / max_scale;
  block->d = FloatToHalf(1 / iscale);
  for (int j = 0; j < 16; ++j)
    block->scales[j] = static_cast<int8_t>(std::min(127, NearestInt(iscale * scales[j])));
  for (int j = 0; j < 16; ++j) {
    const float d = HalfToFloat(block->d) * block->scales[j];
    if (!d) continue;
    for (int i = 0; i < 16; ++i)
      L[16 * j + i] = static_cast<int8_t>(Clamp(NearestInt(x[16 * j + i] / d), -32, 31) + 32);
  }
  for (int h = 0; h < 2; ++h) {
    const int8_t* Lh = L + 128 * h;
    uint8_t* ql = block->ql + 64 * h;
    uint8_t* qh = block->qh + 32 * h;
    for (int l = 0; l < 32; ++l) {
      ql[l] = static_cast<uint8_t>((Lh[l] & 0xf) | ((Lh[l + 64] & 0xf) << 4));
      ql[l + 32] = static_cast<uint8_t>((Lh[l + 32] & 0xf) | ((Lh[l + 96] & 0xf) << 4));
      qh[l] = static_cast<uint8_t>((Lh[l] >> 4) | ((Lh[l + 32] >> 4) << 2) |
                                   ((Lh[l + 64] >> 4) << 4) | ((Lh[l + 96] >> 4) << 6));
    }
  }
}

void DequantizeBlock(const BlockQ6_K& block, float* y) {
  const float d = HalfToFloat(block.d);
  for (int h = 0; h < 2; ++h) {
    const uint8_t* ql = block.ql + 64 * h;
    const uint8_t* qh = block.qh + 32 * h;
    const int8_t* sc = block.scales + 8 * h;
    float* yh = y + 128 * h;
    for (int l = 0; l < 32; ++l) {
      const int is = l / 16;
      const int q1 = ((ql[l] & 0xf) | (((qh[l] >> 0) & 3) << 4)) - 32;
      const int q2 = ((ql[l + 32] & 0xf) | (((qh[l] >> 2) & 3) << 4)) - 32;
      const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      yh[l] = d * sc[is] * q1;
      yh[l + 32] = d * sc[is + 2] * q2;
      yh[l + 64] = d * sc[is + 4] * q3;
      yh[l + 96] = d * sc[is + 6] * q4;
    }
  }
}

}  // namespace kdnas
