module example.com/heapmodule

go 1.26
