"""Drives `oc login SERVER` on a pseudo-terminal, as a user at a keyboard: answers the
untrusted-certificate question, the username and the password prompts, and prints the
transcript (what the terminal showed). Exits 1 if a prompt does not come."""

import os
import pty
import select
import sys
import termios
import time

oc, home, server = sys.argv[1:4]

pid, fd = pty.fork()
if pid == 0:
    env = dict(os.environ, HOME=home)
    env.pop("KUBECONFIG", None)
    os.execve(oc, [oc, "login", server], env)

transcript = b""


def read_until(text, timeout=30):
    global transcript
    deadline = time.time() + timeout
    while text.encode() not in transcript:
        if time.time() > deadline:
            sys.stdout.write(transcript.decode(errors="replace"))
            sys.stderr.write("timed out waiting for %r\n" % text)
            sys.exit(1)
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            transcript += chunk


read_until("Use insecure connections? (y/n): ")
os.write(fd, b"y\n")
read_until("Username: ")
os.write(fd, b"alice\n")
read_until("Password: ")
# Typing ahead of the prompt would echo on any terminal: wait until oc turned echo off.
deadline = time.time() + 10
while termios.tcgetattr(fd)[3] & termios.ECHO:
    if time.time() > deadline:
        sys.stderr.write("echo was never turned off for the password\n")
        sys.exit(1)
    time.sleep(0.02)
os.write(fd, b"wonderland\n")
read_until("Login successful.")
_, status = os.waitpid(pid, 0)
# Whatever is left after the process ended.
try:
    while True:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if not ready:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        transcript += chunk
except OSError:
    pass
sys.stdout.write(transcript.decode(errors="replace"))
sys.exit(0 if os.WEXITSTATUS(status) == 0 else 1)
