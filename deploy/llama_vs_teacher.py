"""Prints what llama.cpp measured of the quickstart's student against the teacher's F16 GGUF.

usage: llama_vs_teacher.py STUDENT_LLAMA_TXT STUDENT_GGUF TEACHER_LLAMA_TXT TEACHER_GGUF
(the *_LLAMA_TXT files are `kdnas-worker llama --data CORPUS --speed-tokens N` outputs).
"""
import os
import re
import sys


def measured(path):
    text = open(path, encoding="utf-8").read()
    speed = re.search(r"speed: decode ([0-9.]+) ms/token, prompt ([0-9.]+) tokens/s \((.*)\)", text)
    nll = re.search(r"held-out NLL ([0-9.]+)", text)
    if not speed or not nll:
        sys.exit(f"llama_vs_teacher: no speed or NLL line in {path}:\n{text}")
    return float(speed.group(1)), float(speed.group(2)), speed.group(3), float(nll.group(1)), text


student_ms, student_prompt, how, student_nll, student_text = measured(sys.argv[1])
teacher_ms, teacher_prompt, _, teacher_nll, _ = measured(sys.argv[3])
student_bytes = os.path.getsize(sys.argv[2])
teacher_bytes = os.path.getsize(sys.argv[4])
sample = re.search(r"^sample: (.*?)(?=^speed:)", student_text, re.S | re.M)
if sample:
    print(f"sample (llama.cpp): {sample.group(1).rstrip()}")
print(f"{'':14}{'GGUF bytes':>12}{'held-out NLL':>14}{'decode ms/token':>17}{'prompt tok/s':>14}")
print(f"{'student':14}{student_bytes:>12}{student_nll:>14.4f}{student_ms:>17.3f}{student_prompt:>14.0f}")
print(f"{'teacher F16':14}{teacher_bytes:>12}{teacher_nll:>14.4f}{teacher_ms:>17.3f}{teacher_prompt:>14.0f}")
print(f"the student is {teacher_bytes / student_bytes:.1f}x smaller and decodes "
      f"{teacher_ms / student_ms:.2f}x as fast, its NLL {student_nll - teacher_nll:+.4f} nats from the "
      f"teacher's, all measured by {how}")
