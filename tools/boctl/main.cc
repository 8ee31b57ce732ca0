// boctl: placeholder until the client is written.
int main() { return 0; }
