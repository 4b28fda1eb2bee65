#ifndef ILA_FRAME_H
#define ILA_FRAME_H
#endif
