"""An Opus call from baresip (Debian's baresip-core), a SIP/RTP stack nobody here wrote.

baresip takes its media address from the default route, so server and baresip run together
in a private network namespace whose only interface is loopback (with a default route
through it): no traffic can leave 127.0.0.1."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from conftest import write_config


def test_baresip_places_an_opus_call(parley_bin, prompts_dir, tmp_path, repo_root):
    assert shutil.which("baresip"), "baresip is required (Debian package baresip-core; scripts/install-deps installs it)"
    assert shutil.which("unshare"), "unshare (util-linux) is required"
    sip_port, rtp_start = 15070, 21000  # a fresh namespace: every port is free
    config = write_config(tmp_path / "parley.yaml", sip_port, rtp_start, prompts_dir)
    events = tmp_path / "events.jsonl"
    bs = tmp_path / "baresip"
    bs.mkdir()
    subprocess.run(["sox", str(Path(repo_root) / "prompts" / "welcome.wav"), "-r", "48000", "-c", "2", str(bs / "in.wav")],
                   check=True, capture_output=True)
    (bs / "config").write_text(
        "poll_method epoll\n"
        f"sip_listen 127.0.0.1:{sip_port + 2}\n"
        f"audio_source aufile,{bs / 'in.wav'}\n"
        f"audio_alert aufile,{bs / 'in.wav'}\n"
        "module_path /usr/lib/baresip/modules\n"
        "module g711.so\nmodule opus.so\nmodule aufile.so\n"
        "module_app account.so\nmodule_app menu.so\n"
        "opus_bitrate 32000\n")
    (bs / "accounts").write_text("<sip:baresip@127.0.0.1>;regint=0;audio_codecs=opus/48000/2\n")
    script = tmp_path / "run.sh"
    script.write_text(
        "set -e\n"
        "ip link set lo up\n"
        "ip route add default dev lo\n"
        f"{parley_bin} serve --config {config} --events {events} > {tmp_path / 'parley.stderr'} 2>&1 &\n"
        "srv=$!\n"
        "sleep 1\n"
        f"timeout 20 baresip -f {bs} -e '/dial sip:100@127.0.0.1:{sip_port}' -t 5 > {bs / 'baresip.log'} 2>&1 || true\n"
        "kill -TERM $srv\n"
        "wait $srv\n")
    res = subprocess.run(["unshare", "--net", "bash", str(script)], capture_output=True, timeout=60)
    log = (bs / "baresip.log").read_text(errors="replace") if (bs / "baresip.log").exists() else ""
    server_err = (tmp_path / "parley.stderr").read_text(errors="replace") if (tmp_path / "parley.stderr").exists() else ""
    assert res.returncode == 0, f"run failed ({res.returncode}): {res.stderr.decode()[-800:]}\n{server_err[-800:]}"
    assert "Call established" in log, f"baresip did not establish the call:\n{log[-1500:]}"
    assert "opus/48000/2" in log
    evs = [json.loads(line) for line in events.read_text().splitlines() if line.strip()]
    answered = [e for e in evs if e["event"] == "call.answered"]
    assert answered and answered[0]["codec"] == "opus", f"{answered}\n{log[-800:]}"
    assert answered[0]["remote_rtp"].startswith("127.0.0.1:"), answered
    ended = [e for e in evs if e["event"] == "call.ended"]
    assert ended and ended[0]["cause"] == "bye", ended
    # Media both ways: baresip's Opus arrived and decoded (none malformed); ours went to baresip.
    assert ended[0]["rtp_in"] >= 50 and ended[0]["rtp_malformed"] == 0, ended
    assert ended[0]["rtp_out"] >= 50, ended
