#include "formats/hf_config.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "formats/hf_tensor_map.h"

namespace kdnas {
namespace {

using nlohmann::json;

// SmolLM2-135M's config.json as published.
json SmolLm2() {
  return json::parse(R"({
    "architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
    "bos_token_id": 0, "eos_token_id": 0, "hidden_act": "silu", "hidden_size": 576,
    "initializer_range": 0.041666666666666664, "intermediate_size": 1536,
    "is_llama_config": true, "max_position_embeddings": 8192, "mlp_bias": false,
    "model_type": "llama", "num_attention_heads": 9, "num_hidden_layers": 30,
    "num_key_value_heads": 3, "pretraining_tp": 1, "rms_norm_eps": 1e-05,
    "rope_interleaved": false, "rope_scaling": null, "rope_theta": 100000,
    "tie_word_embeddings": true, "torch_dtype": "bfloat16", "transformers_version": "4.42.3",
    "use_cache": true, "vocab_size": 49152})");
}

json Qwen2() {
  return json::parse(R"({
    "architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 151643,
    "eos_token_id": 151643, "hidden_act": "silu", "hidden_size": 896,
    "intermediate_size": 4864, "max_position_embeddings": 32768, "max_window_layers": 24,
    "model_type": "qwen2", "num_attention_heads": 14, "num_hidden_layers": 24,
    "num_key_value_heads": 2, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
    "sliding_window": 32768, "tie_word_embeddings": true, "torch_dtype": "bfloat16",
    "use_sliding_window": false, "vocab_size": 151936})");
}

json Gpt2() {
  return json::parse(R"({
    "activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"],
    "attn_pdrop": 0.1, "bos_token_id": 50256, "embd_pdrop": 0.1, "eos_token_id": 50256,
    "initializer_range": 0.02, "layer_norm_epsilon": 1e-05, "model_type": "gpt2",
    "n_ctx": 1024, "n_embd": 768, "n_head": 12, "n_layer": 12, "n_positions": 1024,
    "resid_pdrop": 0.1, "vocab_size": 50257})");
}

StatusOr<HfModelConfig> Parse(const json& j) { return ParseHfConfig(j.dump()); }

// The message of a refused config, which must name `key`.
std::string Refusal(const json& j, const std::string& key) {
  auto parsed = Parse(j);
  EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument) << j.dump();
  const std::string message = parsed.status().message();
  EXPECT_NE(message.find("config.json: " + key), std::string::npos) << message;
  return message;
}

TEST(HfConfig, ReadsALlamaWithGroupedQueryAttentionAndTiedEmbeddings) {
  auto c = Parse(SmolLm2());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->family, HfFamily::kLlama);
  EXPECT_EQ(c->hidden_size, 576);
  EXPECT_EQ(c->num_layers, 30);
  EXPECT_EQ(c->num_heads, 9);
  EXPECT_EQ(c->num_kv_heads, 3);
  EXPECT_EQ(c->head_dim, 64);
  EXPECT_EQ(c->intermediate_size, 1536);
  EXPECT_EQ(c->vocab_size, 49152);
  EXPECT_TRUE(c->tie_word_embeddings);
  EXPECT_FALSE(c->qkv_bias);
  EXPECT_DOUBLE_EQ(c->norm_eps, 1e-5);
  EXPECT_DOUBLE_EQ(c->rope.theta, 100000);
  EXPECT_EQ(c->rope.scaling, Rope::Scaling::kNone);
  EXPECT_EQ(c->torch_dtype, "bfloat16");
  EXPECT_EQ(c->bos_token_id, 0);
  EXPECT_EQ(c->eos_token_ids, std::vector<int64_t>{0});
}

TEST(HfConfig, ReadsAnExplicitHeadDimAndTheNewerRopeParameters) {
  json j = SmolLm2();
  j["head_dim"] = 128;
  j.erase("rope_theta");
  j["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", 500000.0}};
  j["eos_token_id"] = {1, 2};
  auto c = Parse(j);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->head_dim, 128);
  EXPECT_DOUBLE_EQ(c->rope.theta, 500000);
  EXPECT_EQ(c->eos_token_ids, (std::vector<int64_t>{1, 2}));
}

TEST(HfConfig, Llama3RopeScalingKeepsHighFrequenciesAndSlowsLowOnes) {
  json j = SmolLm2();
  j["rope_scaling"] = {{"factor", 32.0},
                       {"high_freq_factor", 4.0},
                       {"low_freq_factor", 1.0},
                       {"original_max_position_embeddings", 8192},
                       {"rope_type", "llama3"}};
  j["rope_theta"] = 500000.0;
  auto c = Parse(j);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->rope.scaling, Rope::Scaling::kLlama3);
  const std::vector<double> inv = RopeInverseFrequencies(*c);
  ASSERT_EQ(inv.size(), 32u);
  auto plain = [](int i) { return 1.0 / std::pow(500000.0, 2.0 * i / 64); };
  EXPECT_DOUBLE_EQ(inv[0], plain(0));         // wavelength 2*pi < 8192/4: kept
  EXPECT_DOUBLE_EQ(inv[31], plain(31) / 32);  // wavelength > 8192: slowed by the factor
  for (size_t i = 1; i < inv.size(); ++i) EXPECT_LT(inv[i], inv[i - 1]);  // still monotone
  // Between the two wavelengths: interpolated, strictly between the ends.
  bool interpolated = false;
  for (int i = 0; i < 32; ++i) {
    if (inv[i] < plain(i) && inv[i] > plain(i) / 32) interpolated = true;
  }
  EXPECT_TRUE(interpolated);

  j["rope_scaling"] = {{"type", "linear"}, {"factor", 4.0}};  // the older spelling
  c = Parse(j);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_DOUBLE_EQ(RopeInverseFrequencies(*c)[5], plain(5) / 4);
}

TEST(HfConfig, ReadsQwen2WithItsBiasesAndGpt2WithItsOwnKeys) {
  auto q = Parse(Qwen2());
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->family, HfFamily::kQwen2);
  EXPECT_TRUE(q->qkv_bias);
  EXPECT_EQ(q->head_dim, 64);
  EXPECT_EQ(q->num_kv_heads, 2);

  auto g = Parse(Gpt2());
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->family, HfFamily::kGpt2);
  EXPECT_EQ(g->hidden_size, 768);
  EXPECT_EQ(g->intermediate_size, 3072);  // n_inner absent: 4 * n_embd
  EXPECT_EQ(g->max_position_embeddings, 1024);
  EXPECT_TRUE(g->tie_word_embeddings);  // GPT-2's default
  EXPECT_EQ(g->num_kv_heads, 12);
}

TEST(HfConfig, RefusesWhatKdnasWouldNotRunExactly) {
  json j = SmolLm2();
  j["architectures"] = {"MistralForCausalLM"};
  EXPECT_NE(Refusal(j, "architectures").find("MistralForCausalLM is not supported"),
            std::string::npos);
  j = SmolLm2();
  j["model_type"] = "qwen2";
  Refusal(j, "model_type");
  j = SmolLm2();
  j["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}};
  Refusal(j, "rope_scaling.rope_type");
  j = SmolLm2();
  j["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}};
  Refusal(j, "rope_scaling.low_freq_factor");
  j = SmolLm2();
  j["hidden_act"] = "gelu";
  Refusal(j, "hidden_act");
  j = SmolLm2();
  j["attention_bias"] = true;
  Refusal(j, "attention_bias");
  j = SmolLm2();
  j["num_key_value_heads"] = 4;
  Refusal(j, "num_key_value_heads");
  j = SmolLm2();
  j["hidden_size"] = 575;
  Refusal(j, "num_attention_heads");
  j = SmolLm2();
  j["num_hidden_layers"] = 2.5;
  Refusal(j, "num_hidden_layers");
  j = SmolLm2();
  j.erase("intermediate_size");
  Refusal(j, "intermediate_size");
  j = Qwen2();
  j["use_sliding_window"] = true;
  Refusal(j, "use_sliding_window");
  j = Gpt2();
  j["activation_function"] = "relu";
  Refusal(j, "activation_function");
  j = Gpt2();
  j["scale_attn_by_inverse_layer_idx"] = true;
  Refusal(j, "scale_attn_by_inverse_layer_idx");
  EXPECT_EQ(ParseHfConfig("{not json").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseHfConfig("[1]").status().code(), StatusCode::kInvalidArgument);
}

TEST(HfTensorMap, NamesEveryTensorOfEachFamilyWithItsShape) {
  auto llama = Parse(SmolLm2());
  ASSERT_TRUE(llama.ok());
  const auto table = HfTensorTable(*llama, HfNamePrefix(*llama, {}));
  ASSERT_EQ(table.size(), 2 + 30 * 9 + 1u);  // embed, norm, 9 a layer, lm_head
  EXPECT_EQ(table.front().name, "model.embed_tokens.weight");
  EXPECT_EQ(table.front().shape, (std::vector<int64_t>{49152, 576}));
  EXPECT_EQ(table[2].name, "model.layers.0.self_attn.q_proj.weight");
  EXPECT_EQ(table[2].shape, (std::vector<int64_t>{576, 576}));
  EXPECT_EQ(table[3].name, "model.layers.0.self_attn.k_proj.weight");
  EXPECT_EQ(table[3].shape, (std::vector<int64_t>{192, 576}));  // 3 KV heads of 64
  EXPECT_EQ(table.back().name, "lm_head.weight");
  EXPECT_TRUE(table.back().optional);  // tied

  auto qwen = Parse(Qwen2());
  ASSERT_TRUE(qwen.ok());
  const auto qt = HfTensorTable(*qwen, "model.");
  EXPECT_EQ(qt.size(), 2 + 24 * 12 + 1u);  // + q, k, v biases
  EXPECT_EQ(qt[5].name, "model.layers.0.self_attn.k_proj.bias");
  EXPECT_EQ(qt[5].shape, std::vector<int64_t>{128});

  auto gpt2 = Parse(Gpt2());
  ASSERT_TRUE(gpt2.ok());
  EXPECT_EQ(HfNamePrefix(*gpt2, {"wte.weight"}), "");
  EXPECT_EQ(HfNamePrefix(*gpt2, {"transformer.wte.weight"}), "transformer.");
  const auto gt = HfTensorTable(*gpt2, "");
  EXPECT_EQ(gt[1].name, "wpe.weight");
  EXPECT_EQ(gt[4].name, "h.0.attn.c_attn.weight");
  EXPECT_EQ(gt[4].shape, (std::vector<int64_t>{768, 2304}));  // Conv1D: [in, out]
  EXPECT_EQ(gt[10].name, "h.0.mlp.c_fc.weight");
  EXPECT_EQ(gt[10].shape, (std::vector<int64_t>{768, 3072}));
  EXPECT_TRUE(IsIgnoredHfTensor("h.3.attn.bias"));
  EXPECT_TRUE(IsIgnoredHfTensor("model.layers.0.self_attn.rotary_emb.inv_freq"));
  EXPECT_FALSE(IsIgnoredHfTensor("h.3.attn.c_attn.bias"));
}

}  // namespace
}  // namespace kdnas
