#include "search/search_space.h"

#include <gtest/gtest.h>

#include <map>

#include "search/candidate_key.h"

namespace kdnas {
namespace {

SearchSpaceSpec DemoSpec() {
  SearchSpaceSpec spec;
  spec.base.architecture.d_ff = 0;  // 4 x d_model
  spec.parameters = {
      ParameterConfig::Integer("num_layers", 1, 4),
      ParameterConfig::Discrete("d_model", {64, 96, 128}),
      ParameterConfig::Discrete("weight_bits", {8, 4, 3, 2}),
      ParameterConfig::Categorical("init", {"scratch", "inherit"}),
      ParameterConfig::Categorical("sparsity_pattern", {"none", "2:4"}),
      ParameterConfig::Double("alpha", 0, 1),
  };
  return spec;
}

TEST(SearchSpace, DecodesPointsIntoCandidates) {
  auto space = SearchSpace::Create(DemoSpec());
  ASSERT_TRUE(space.ok()) << space.status().ToString();
  Candidate c = space->Decode({3, 96, 4, 1, 1, 0.25});
  EXPECT_EQ(c.architecture.num_layers, 3);
  EXPECT_EQ(c.architecture.d_model, 96);
  EXPECT_EQ(c.architecture.d_ff, 384);
  EXPECT_EQ(c.compression.weight_bits, 4);
  EXPECT_EQ(c.distillation.init, Init::kInherit);
  EXPECT_EQ(c.compression.sparsity_pattern, SparsityPattern::k2of4);
  EXPECT_DOUBLE_EQ(c.distillation.alpha, 0.25);
  EXPECT_EQ(space->Encode(c), (Point{3, 96, 4, 1, 1, 0.25}));
}

TEST(SearchSpace, EverySampleDecodesToAValidCandidate) {
  auto space = SearchSpace::Create(DemoSpec());
  ASSERT_TRUE(space.ok());
  Rng rng(3);
  for (int i = 0; i < 500; ++i) {
    Point p = space->parameters().Sample(rng);
    ASSERT_TRUE(space->parameters().Contains(p));
    EXPECT_TRUE(ValidateCandidate(space->Decode(p)).ok());
  }
}

TEST(SearchSpace, ErrorsNameTheField) {
  auto expect_error = [](SearchSpaceSpec spec, const std::string& text) {
    auto space = SearchSpace::Create(spec);
    ASSERT_FALSE(space.ok()) << text;
    EXPECT_EQ(space.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(space.status().message().find(text), std::string::npos) << space.status().message();
  };
  SearchSpaceSpec spec;
  spec.parameters = {ParameterConfig::Integer("depth", 1, 2)};
  expect_error(spec, "space.parameters[0].name: unknown knob \"depth\"");
  spec.parameters = {ParameterConfig::Integer("num_layers", 4, 2)};
  expect_error(spec, "space.parameters[0].integer_range.min: must be <= max");
  spec.parameters = {ParameterConfig::Discrete("weight_bits", {8, 5})};
  expect_error(
      spec, "space.parameters[0].discrete.values[1]: weight_bits must be one of 16, 8, 6, 4, 3, 2");
  spec.parameters = {ParameterConfig::Discrete("d_model", {})};
  expect_error(spec, "space.parameters[0].discrete.values: must not be empty");
  spec.parameters = {ParameterConfig::Categorical("init", {"scratch", "magic"})};
  expect_error(spec, "space.parameters[0].categorical.values[1]: init has no value \"magic\"");
  spec.parameters = {ParameterConfig::Integer("num_layers", 1, 2),
                     ParameterConfig::Integer("num_layers", 1, 3)};
  expect_error(spec, "space.parameters[1].name: \"num_layers\" appears twice");
  spec.parameters = {ParameterConfig::Double("d_model", 8, 64)};
  expect_error(spec, "space.parameters[0].double_range: d_model is an integer");
  spec.parameters = {ParameterConfig::Double("sparsity", 0, 1.5)};
  expect_error(spec, "space.parameters[0].double_range.max: sparsity must be in [0, 0.99]");
  spec.parameters = {ParameterConfig::Double("alpha", 0, std::nan(""))};
  expect_error(spec, "space.parameters[0].double_range: min and max must be finite");
}

SearchSpaceSpec GgufSpec() {
  SearchSpaceSpec spec;
  spec.base.architecture.num_layers = 4;
  spec.base.architecture.d_model = 256;
  spec.base.architecture.d_ff = 768;
  spec.parameters = {
      ParameterConfig::Discrete("num_layers", {1, 2, 3, 4}),
      ParameterConfig::Discrete("d_ff", {512, 768}),
      ParameterConfig::Categorical("weight_format", {"q8_0", "q4_0", "q3_k"}),
      ParameterConfig::Categorical("ffn_format", {"same", "q2_k"}),
  };
  return spec;
}

TEST(SearchSpace, PointsToEvaluateTakeTheNamedValuesAndTheBaseForTheRest) {
  SearchSpaceSpec spec = GgufSpec();
  spec.points_to_evaluate = {
      {{"num_layers", "4"}, {"weight_format", "Q4_0"}, {"ffn_format", "same"}},
      {{"weight_format", "q3_k"}, {"ffn_format", "q2_k"}, {"d_ff", "512"}}};
  auto space = SearchSpace::Create(spec);
  ASSERT_TRUE(space.ok()) << space.status().ToString();
  ASSERT_EQ(space->points_to_evaluate().size(), 2u);
  Candidate first = space->Decode(space->points_to_evaluate()[0]);
  EXPECT_EQ(first.architecture.num_layers, 4);
  EXPECT_EQ(first.architecture.d_ff, 768);  // the base's
  EXPECT_NE(CandidateKey(first).find("q4_0"), std::string::npos) << CandidateKey(first);
  Candidate second = space->Decode(space->points_to_evaluate()[1]);
  EXPECT_EQ(second.architecture.num_layers, 4);  // the base's
  EXPECT_EQ(second.architecture.d_ff, 512);
  EXPECT_NE(CandidateKey(second).find("q2_k"), std::string::npos) << CandidateKey(second);
  EXPECT_EQ(space->Encode(second), space->points_to_evaluate()[1]);
}

TEST(SearchSpace, PointsToEvaluateErrorsNameTheField) {
  auto expect_error = [](std::map<std::string, std::string> point, const std::string& text) {
    SearchSpaceSpec spec = GgufSpec();
    spec.points_to_evaluate = {{{"weight_format", "q8_0"}}, point};
    auto space = SearchSpace::Create(spec);
    ASSERT_FALSE(space.ok()) << text;
    EXPECT_EQ(space.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(space.status().message().find(text), std::string::npos) << space.status().message();
  };
  expect_error({{"weight_format", "q8_0"}, {"d_model", "128"}},
               "space.points_to_evaluate[1].values.d_model: not a searched parameter (searched: "
               "num_layers, d_ff, weight_format, ffn_format)");
  expect_error({{"weight_format", "q8_0"}, {"num_layers", "5"}},
               "space.points_to_evaluate[1].values.num_layers: num_layers 5 is not in the "
               "searched domain (space.parameters[0])");
  expect_error({{"weight_format", "q8_0"}, {"num_layers", "four"}},
               "space.points_to_evaluate[1].values.num_layers: num_layers takes a number");
  expect_error({{"weight_format", "q5_k"}},
               "space.points_to_evaluate[1].values.weight_format: weight_format \"q5_k\" is not "
               "among the searched values (q8_0, q4_0, q3_k)");
  // The base has no GGUF type: weight_format must be named.
  expect_error({{"num_layers", "2"}},
               "space.points_to_evaluate[1].values: weight_format must be given");
  expect_error({}, "space.points_to_evaluate[1].values: weight_format must be given");
  expect_error({{"weight_format", "q8_0"}},
               "space.points_to_evaluate[1]: the same student as space.points_to_evaluate[0]");
}

TEST(ValidateCandidate, ChecksTheRules) {
  Candidate c;
  EXPECT_TRUE(ValidateCandidate(c).ok());
  c.architecture.d_model = 100;
  c.architecture.num_heads = 3;
  EXPECT_NE(ValidateCandidate(c).message().find(
                "candidate.architecture.d_model: must be divisible by num_heads"),
            std::string::npos);
  c = Candidate();
  c.architecture.layers = {{2, 256}};
  EXPECT_NE(ValidateCandidate(c).message().find("layers: has 1 entries"), std::string::npos);
  c.architecture.layers = {{2, 256}, {5, 256}, {4, 512}, {4, 512}};
  EXPECT_NE(ValidateCandidate(c).message().find("layers[1].num_heads"), std::string::npos);
  c = Candidate();
  c.architecture.d_ff = 510;
  c.compression.sparsity_pattern = SparsityPattern::k2of4;
  EXPECT_NE(ValidateCandidate(c).message().find(
                "sparsity_pattern: 2:4 needs every layer width divisible by 4"),
            std::string::npos);
  c = Candidate();
  c.compression.group_size = 48;
  EXPECT_NE(ValidateCandidate(c).message().find("group_size"), std::string::npos);
}

TEST(ValidateCandidate, FamilyRules) {
  Candidate c;
  c.architecture.num_kv_heads = 2;  // GPT-2 blocks: one KV head per query head
  EXPECT_NE(ValidateCandidate(c).message().find(
                "candidate.architecture.num_kv_heads: GPT-2 blocks have as many key/value heads"),
            std::string::npos)
      << ValidateCandidate(c).message();
  c.architecture.family.kind = FamilyKind::kLlama;
  EXPECT_TRUE(ValidateCandidate(c).ok()) << ValidateCandidate(c).message();
  c.architecture.num_kv_heads = 3;  // 4 query heads
  EXPECT_NE(ValidateCandidate(c).message().find("must be a multiple of the key/value heads (3)"),
            std::string::npos);
  c.architecture.num_kv_heads = 2;
  c.architecture.layers = {{4, 512, 0}, {2, 512, 0}, {1, 512, 0}, {4, 512, 4}};
  // Layer 2 has 1 query head for the architecture's 2 KV heads.
  EXPECT_NE(ValidateCandidate(c).message().find("layers[2]: the query heads (1)"),
            std::string::npos)
      << ValidateCandidate(c).message();
  c.architecture.layers.clear();
  c.architecture.fixed_head_dim = 15;  // rotary positions turn pairs of channels
  EXPECT_NE(
      ValidateCandidate(c).message().find("head_dim: rotary positions need an even head width"),
      std::string::npos);
  c.architecture.fixed_head_dim = 48;  // 4 heads of 48 in a 128-wide model: fine
  EXPECT_TRUE(ValidateCandidate(c).ok());
  c.architecture.family.norm_eps = 0;
  EXPECT_NE(ValidateCandidate(c).message().find("family.norm_eps"), std::string::npos);
}

TEST(SearchSpace, SearchesKeyValueHeadsAndHeadWidth) {
  SearchSpaceSpec spec;
  spec.base.architecture.family.kind = FamilyKind::kLlama;
  spec.parameters = {ParameterConfig::Discrete("num_kv_heads", {1, 2, 4}),
                     ParameterConfig::Discrete("head_dim", {16, 32})};
  auto space = SearchSpace::Create(spec);
  ASSERT_TRUE(space.ok()) << space.status().message();
  Candidate c = space->Decode({2, 16});
  EXPECT_EQ(c.architecture.num_kv_heads, 2);
  EXPECT_EQ(c.architecture.head_dim(), 16);
  EXPECT_EQ(c.architecture.family.kind, FamilyKind::kLlama);
  EXPECT_EQ(space->Encode(c), (Point{2, 16}));
  spec.parameters = {ParameterConfig::Discrete("num_kv_heads", {0})};
  EXPECT_NE(SearchSpace::Create(spec).status().message().find(
                "num_kv_heads must be an integer in 1..128"),
            std::string::npos);
}

TEST(CandidateKey, IdenticalStudentsShareAKey) {
  Candidate a;
  a.compression.weight_bits = 16;
  a.compression.embedding_bits = 16;
  Candidate b = a;
  b.compression.group_size = 32;  // no effect at 16 bits
  EXPECT_EQ(CandidateKey(a), CandidateKey(b));
  b.compression.weight_bits = 4;
  EXPECT_NE(CandidateKey(a), CandidateKey(b));

  Candidate nm;
  nm.compression.sparsity_pattern = SparsityPattern::k2of4;
  Candidate nm2 = nm;
  nm2.compression.sparsity = 0.3;  // overridden by 2:4
  EXPECT_EQ(CandidateKey(nm), CandidateKey(nm2));

  Candidate uniform;
  uniform.architecture.layers.assign(4, {4, 256});
  Candidate plain;
  plain.architecture.d_ff = 256;
  EXPECT_EQ(CandidateKey(uniform), CandidateKey(plain));

  Candidate hard_labels;
  hard_labels.distillation.alpha = 0;
  Candidate other_t = hard_labels;
  other_t.distillation.temperature = 4;
  EXPECT_EQ(CandidateKey(hard_labels), CandidateKey(other_t));
  EXPECT_EQ(CandidateKey(Candidate()),
            "L4 d128 h4 ff512 c64 tie0 | w16 g0 e16 s0 nm0 r0 | T2 a0.5 scratch");

  // Llama students: KV heads equal to the query heads are multi-head attention.
  Candidate llama;
  llama.architecture.family.kind = FamilyKind::kLlama;
  Candidate mha = llama;
  mha.architecture.num_kv_heads = 4;
  mha.architecture.fixed_head_dim = 32;  // = 128 / 4
  EXPECT_EQ(CandidateKey(llama), CandidateKey(mha));
  EXPECT_NE(CandidateKey(llama), CandidateKey(Candidate()));
  Candidate gqa = llama;
  gqa.architecture.num_kv_heads = 2;
  EXPECT_NE(CandidateKey(llama), CandidateKey(gqa));
  EXPECT_EQ(CandidateKey(gqa),
            "L4 d128 h4 ff512 c64 tie0 llama kv2 | w16 g0 e16 s0 nm0 r0 | T2 a0.5 scratch");

  // llama.cpp's types are keyed as the file stores them: on rows of 128 the
  // k-quants fall back (q2_k to q4_0), so q2_k is q4_0 with a q2_k FFN (its
  // down projection's rows of 512 take q2_k), until the rows are 256 wide.
  Candidate q2_k;
  q2_k.compression.gguf.weight = GgmlType::kQ2_K;
  Candidate q4_0_ffn_q2_k;
  q4_0_ffn_q2_k.compression.gguf.weight = GgmlType::kQ4_0;
  q4_0_ffn_q2_k.compression.gguf.ffn = GgmlType::kQ2_K;
  EXPECT_EQ(CandidateKey(q2_k), CandidateKey(q4_0_ffn_q2_k));
  EXPECT_EQ(CandidateKey(q2_k),
            "L4 d128 h4 ff512 c64 tie0 | w16 g0 e16 s0 nm0 r0 gguf "
            "attn/q4_0 ffn/q4_0/q2_k emb/q4_0 out/q4_0 | T2 a0.5 scratch");
  Candidate q4_0 = q4_0_ffn_q2_k;
  q4_0.compression.gguf.ffn.reset();
  EXPECT_NE(CandidateKey(q2_k), CandidateKey(q4_0));
  for (Candidate* c : {&q2_k, &q4_0_ffn_q2_k}) c->architecture.d_model = 256;
  EXPECT_NE(CandidateKey(q2_k), CandidateKey(q4_0_ffn_q2_k));
}

// llama.cpp's types as knobs: weight_format's "kdnas" is the group-wise
// formats, an override's "same" follows weight_format; llama.cpp's own
// spelling is accepted and stored canonically.
TEST(SearchSpace, WeightFormatsAreCategoricalKnobs) {
  SearchSpaceSpec spec;
  spec.parameters = {ParameterConfig::Categorical("weight_format", {"kdnas", "Q4_K", "q8_0"}),
                     ParameterConfig::Categorical("ffn_format", {"same", "q6_k"})};
  auto space = SearchSpace::Create(spec);
  ASSERT_TRUE(space.ok()) << space.status().ToString();
  EXPECT_EQ(space->parameters().parameter(0).labels,
            (std::vector<std::string>{"kdnas", "q4_k", "q8_0"}));
  Candidate kdnas = space->Decode({0, 0});
  EXPECT_FALSE(kdnas.compression.gguf.set());
  EXPECT_TRUE(ValidateCandidate(kdnas).ok());
  EXPECT_FALSE(space->IsValid({0, 1}));  // an override without a weight_format
  Candidate mixed = space->Decode({1, 1});
  EXPECT_EQ(mixed.compression.gguf.weight, GgmlType::kQ4_K);
  EXPECT_EQ(mixed.compression.gguf.ffn_type(), GgmlType::kQ6_K);
  EXPECT_EQ(mixed.compression.gguf.attention_type(), GgmlType::kQ4_K);
  EXPECT_EQ(GgufFormatsText(mixed.compression.gguf), "q4_k ffn=q6_k");
  EXPECT_EQ(space->Encode(mixed), (Point{1, 1}));
  EXPECT_EQ(space->Encode(space->Decode({2, 0})), (Point{2, 0}));
  EXPECT_NE(CandidateKey(mixed), CandidateKey(space->Decode({1, 0})));

  spec.parameters = {ParameterConfig::Categorical("weight_format", {"q4_k", "q7_0"})};
  auto bad = SearchSpace::Create(spec);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find(
                "space.parameters[0].categorical.values[1]: weight_format has no value \"q7_0\""),
            std::string::npos)
      << bad.status().message();
}

TEST(ValidateCandidate, LlamaCppTypesImplyTheGroupWiseSettingsAndRefuseWhatLlamaCppCannotRun) {
  auto expect_error = [](const Candidate& c, const std::string& text) {
    Status s = ValidateCandidate(c);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << text;
    EXPECT_NE(s.message().find(text), std::string::npos) << s.message();
  };
  Candidate c;
  c.compression.gguf.weight = GgmlType::kQ4_0;
  EXPECT_TRUE(ValidateCandidate(c).ok());
  Candidate implied = c;
  implied.compression.weight_bits = 4;
  implied.compression.group_size = 32;
  EXPECT_TRUE(ValidateCandidate(implied).ok());
  EXPECT_EQ(CandidateKey(implied), CandidateKey(c));
  Candidate bits = c;
  bits.compression.weight_bits = 8;
  expect_error(bits, "candidate.compression.weight_bits: q4_0 stores 4-bit weights");
  Candidate embedding = c;
  embedding.compression.gguf.embedding = GgmlType::kQ8_0;
  embedding.compression.embedding_bits = 4;
  expect_error(embedding, "candidate.compression.embedding_bits: q8_0 stores 8-bit weights");
  Candidate group = c;
  group.compression.group_size = 64;
  expect_error(group, "candidate.compression.group_size: weight_format q4_0 sets its own blocks");
  Candidate sparse = c;
  sparse.compression.sparsity = 0.5;
  expect_error(sparse, "candidate.compression.sparsity: llama.cpp runs no sparse weights");
  Candidate nm = c;
  nm.compression.sparsity_pattern = SparsityPattern::k2of4;
  expect_error(nm, "candidate.compression.sparsity_pattern: llama.cpp runs no sparse weights");
  Candidate low_rank = c;
  low_rank.compression.low_rank_ratio = 0.5;
  expect_error(low_rank, "candidate.compression.low_rank_ratio: llama.cpp runs no low-rank");
  Candidate layers = c;
  layers.architecture.layers = {{4, 512, 0}, {4, 256, 0}, {4, 512, 0}, {4, 512, 0}};
  expect_error(layers, "candidate.architecture.layers: llama.cpp's gpt2 architecture");
  Candidate head_dim = c;
  head_dim.architecture.fixed_head_dim = 16;
  expect_error(head_dim, "candidate.architecture.head_dim: llama.cpp's gpt2 architecture");
  Candidate llama_layers = layers;  // the llama architecture takes per-layer widths
  llama_layers.architecture.family.kind = FamilyKind::kLlama;
  EXPECT_TRUE(ValidateCandidate(llama_layers).ok()) << ValidateCandidate(llama_layers).ToString();
  // Llama 3's rope scaling is llama's rope_freqs tensor; qwen2 has none.
  Candidate llama3 = c;
  llama3.architecture.num_kv_heads = 2;
  llama3.architecture.family.kind = FamilyKind::kLlama;
  llama3.architecture.family.rope = {Rope::Scaling::kLlama3, 500000.0, 8.0, 1.0, 4.0, 8192};
  EXPECT_TRUE(ValidateCandidate(llama3).ok()) << ValidateCandidate(llama3).ToString();
  Candidate qwen2_llama3 = llama3;
  qwen2_llama3.architecture.family.kind = FamilyKind::kQwen2;
  expect_error(qwen2_llama3,
               "candidate.architecture.family.rope: llama.cpp reads a llama3 rotary scaling only");
  Candidate override_only;
  override_only.compression.gguf.ffn = GgmlType::kQ6_K;
  expect_error(override_only, "candidate.compression.ffn_format: overrides one of llama.cpp's");
}

TEST(GgufFormats, ParseNamesTheFieldAndRoundTrips) {
  auto f = ParseGgufFormats({"Q4_K", "", "q6_k", "", "q8_0"});
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(GgufFormatNamesOf(*f).weight_format, "q4_k");
  EXPECT_EQ(GgufFormatNamesOf(*f).attention_format, "");
  EXPECT_EQ(GgufFormatsText(*f), "q4_k ffn=q6_k output=q8_0");
  auto kdnas = ParseGgufFormats({"kdnas", "", "", "", ""});
  ASSERT_TRUE(kdnas.ok());
  EXPECT_FALSE(kdnas->set());
  auto bad = ParseGgufFormats({"q4_k", "kdnas", "", "", ""}, {"w", "a.attention_format"});
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("a.attention_format: 'kdnas' is not one of llama.cpp's"),
            std::string::npos)
      << bad.status().message();
}

}  // namespace
}  // namespace kdnas
