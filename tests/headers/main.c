/*
 * The header checks are done when this links: every public header compiled
 * alone, as C11 and (when a C++ compiler exists) as C++, with -Wpedantic -Werror.
 */
int main(void)
{
    return 0;
}
