// Placeholder entry point; the emulator's standalone host replaces it.
return 0;
