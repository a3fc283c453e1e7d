"""Prints what llama.cpp measured of the quickstart's student against the teacher's F16 GGUF.

usage: llama_vs_teacher.py STUDENT_LLAMA_TXT STUDENT_GGUF TEACHER_LLAMA_TXT TEACHER_GGUF
(the *_LLAMA_TXT files are `kdnas-worker llama --speed-tokens N` outputs).
"""
import os
import re
import sys


def decode_ms(path):
    text = open(path, encoding="utf-8").read()
    found = re.search(r"speed: decode ([0-9.]+) ms/token, prompt ([0-9.]+) tokens/s \((.*)\)", text)
    if not found:
        sys.exit(f"llama_vs_teacher: no speed line in {path}:\n{text}")
    return float(found.group(1)), float(found.group(2)), found.group(3), text


student_ms, student_prompt, how, student_text = decode_ms(sys.argv[1])
teacher_ms, teacher_prompt, _, _ = decode_ms(sys.argv[3])
student_bytes = os.path.getsize(sys.argv[2])
teacher_bytes = os.path.getsize(sys.argv[4])
sample = re.search(r"^sample: (.*?)(?=^speed:)", student_text, re.S | re.M)
if sample:
    print(f"sample (llama.cpp): {sample.group(1).rstrip()}")
print(f"{'':14}{'GGUF bytes':>12}{'decode ms/token':>17}{'prompt tok/s':>14}")
print(f"{'student':14}{student_bytes:>12}{student_ms:>17.3f}{student_prompt:>14.0f}")
print(f"{'teacher F16':14}{teacher_bytes:>12}{teacher_ms:>17.3f}{teacher_prompt:>14.0f}")
print(f"the student is {teacher_bytes / student_bytes:.1f}x smaller and decodes "
      f"{teacher_ms / student_ms:.2f}x as fast, both measured by {how}")
