"""Preset policies (TOML) and the district documents they quote; data files only."""
