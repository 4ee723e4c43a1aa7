// Files reach the page three ways: the picker, a drop on the drop zone, or a
// drop anywhere else on the page (which would otherwise make the browser open
// the file and leave the page).

export function wireFileDrop(dropZone: HTMLElement, fileInput: HTMLInputElement, onFiles: (files: FileList | null | undefined) => Promise<void>): void {
  fileInput.addEventListener('change', () => {
    void onFiles(fileInput.files).finally(() => (fileInput.value = ''));
  });
  dropZone.addEventListener('dragover', (e) => {
    e.preventDefault();
    dropZone.classList.add('dragging');
  });
  dropZone.addEventListener('dragleave', () => dropZone.classList.remove('dragging'));
  dropZone.addEventListener('drop', (e) => {
    e.preventDefault();
    dropZone.classList.remove('dragging');
    void onFiles(e.dataTransfer?.files);
  });
  window.addEventListener('dragover', (e) => e.preventDefault());
  window.addEventListener('drop', (e) => {
    e.preventDefault();
    if (!dropZone.contains(e.target as Node)) void onFiles(e.dataTransfer?.files);
  });
}
