import subprocess
import sys

from siting.cli import main


def test_help_lists_commands(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "usage: siting" in out


def test_python_dash_m_works():
    result = subprocess.run([sys.executable, "-m", "siting", "--version"], capture_output=True, text=True)
    assert result.returncode == 0
    assert "siting" in result.stdout
