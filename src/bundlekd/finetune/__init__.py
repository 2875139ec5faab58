"""Fine-tuning the student (LoRA SFT on distilled knowledge): not built yet.

This package is a placeholder: it holds no code, and nothing in bundlekd trains a model today.
What exists around it: `agent.prompting` (the prompt builder that SFT data will reuse, so
training and inference prompts match), `data.answer.format_answer` (the answer format SFT
targets will use) and LoRA *serving* of an existing PEFT adapter (`llm.transformers_local`,
vLLM through `llm.openai_compat`).
"""
