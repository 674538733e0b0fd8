from playground.llm.tokens import estimate_messages_tokens, estimate_tokens


def test_english_prose_about_4_4_characters_per_token():
    text = "The quick brown fox jumps over the lazy dog. " * 100
    assert abs(estimate_tokens(text) - len(text) / 4.4) < 2


def test_chinese_about_1_9_characters_per_token():
    text = "长上下文推理模型" * 100
    assert abs(estimate_tokens(text) - len(text) / 1.9) < 2


def test_code_tokenizes_finer_than_prose():
    code = "def f(x):\n    return {k: v for (k, v) in x.items() if v[0] > 1}\n" * 50
    assert estimate_tokens(code) == round(len(code) / 3.4 + 0.5)


def test_messages_add_template_overhead():
    assert estimate_messages_tokens([{"role": "user", "content": ""}]) == 5
    assert estimate_tokens("") == 0
