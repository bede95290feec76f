"""Text-to-speech: the speaker stage (pyttsx3 + espeak-ng in a worker process).

Public API:
    Synthesizer(settings).start()/close(), .synthesize(text, sample_rate=, voice=) -> Speech,
    .stream(text, sample_rate=, voice=, chunk_ms=) -> async PCM chunks, .voices()
    to_speech_text(text), save_speech(speech, path), play(speech) -> PlaybackHandle,
    list_voices(settings) / format_voices(voices) for `b12-skill voices`,
    say_once(text, settings, out=, speak=) for `b12-skill say`.
"""

from skill.settings.tts import TtsSettings
from skill.tts.oneshot import say_once
from skill.tts.playback import PlaybackHandle, find_output, play
from skill.tts.speech import Speech, VoiceInfo, save_speech
from skill.tts.speech_text import split_pieces, to_speech_text
from skill.tts.synthesizer import Synthesizer
from skill.tts.voices import format_voices, list_voices, voices_main

__all__ = [
    "PlaybackHandle",
    "Speech",
    "Synthesizer",
    "TtsSettings",
    "VoiceInfo",
    "find_output",
    "format_voices",
    "list_voices",
    "play",
    "save_speech",
    "say_once",
    "split_pieces",
    "to_speech_text",
    "voices_main",
]
