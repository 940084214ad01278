/* ossim's stack switch for x86-64, System V ABI, ELF. Contract in stack_switch.hpp.

   A suspended context's stack, from its saved stack pointer up (8 bytes a slot):
     [0] MXCSR (low half) and x87 control word (bits 32-47)
     [1] r15  [2] r14  [3] r13  [4] r12  [5] rbx  [6] rbp
     [7] the address to resume at (a return address)
   These are the registers the ABI says a call preserves; everything else the caller of
   ossim_stack_switch has already given up. */

    .text

/* void ossim_stack_switch(void** save, void* resume) */
    .globl  ossim_stack_switch
    .hidden ossim_stack_switch
    .type   ossim_stack_switch, @function
    .p2align 4
ossim_stack_switch:
    pushq   %rbp
    pushq   %rbx
    pushq   %r12
    pushq   %r13
    pushq   %r14
    pushq   %r15
    subq    $8, %rsp
    stmxcsr (%rsp)
    fnstcw  4(%rsp)
    movq    %rsp, (%rdi)
    movq    %rsi, %rsp
    ldmxcsr (%rsp)
    fldcw   4(%rsp)
    addq    $8, %rsp
    popq    %r15
    popq    %r14
    popq    %r13
    popq    %r12
    popq    %rbx
    popq    %rbp
    /* A return, not an indirect jump: the resumed side suspended in this same function,
       so the return-stack predictor's top entry is the right target, and so is every
       entry below it while the two sides came here by the same calls. */
    ret
    .size   ossim_stack_switch, .-ossim_stack_switch

/* The first switch to a new stack "returns" here, with rbx = the argument and r12 = the
   entry function (stack_switch.cpp lays that out). The entry never returns. */
    .globl  ossim_stack_start
    .hidden ossim_stack_start
    .type   ossim_stack_start, @function
    .p2align 4
ossim_stack_start:
    .cfi_startproc
    .cfi_undefined rip   /* the bottom of the stack, for unwinders and debuggers */
    movq    %rbx, %rdi
    call    *%r12
    ud2
    .cfi_endproc
    .size   ossim_stack_start, .-ossim_stack_start

    .section .note.GNU-stack, "", @progbits
